import Foundation

// MARK: - SVG line charts

/// A line chart of one or two series over epochs, as SVG: labelled axes with ticks, a left axis for
/// the first series and a right axis for the second, a legend.
public struct LineChart {
    /// One line of the chart: a value per epoch (epoch i + 1 at index i), drawn in `color`.
    public struct Series {
        /// The axis label and legend text.
        public var name: String
        /// One value per epoch; non-finite values are left out of the line and of the axis range.
        public var values: [Double]
        /// An SVG colour, e.g. `"#1f77b4"` or `"crimson"`, for the line, its points and its axis.
        public var color: String
        /// A series named `name` with `values`, drawn in `color`.
        public init(name: String, values: [Double], color: String) {
            self.name = name
            self.values = values
            self.color = color
        }
    }

    /// The title above the plot.
    public var title: String
    /// The label under the horizontal axis (epochs numbered from 1).
    public var xLabel: String
    /// The series on the left axis.
    public var left: Series
    /// The series on the right axis, if any.
    public var right: Series?

    /// A chart of `left`, and `right` on a second axis when given.
    public init(title: String, xLabel: String, left: Series, right: Series? = nil) {
        self.title = title
        self.xLabel = xLabel
        self.left = left
        self.right = right
    }

    /// Rounded axis range and ticks covering `values`.
    static func axis(_ values: [Double]) -> (low: Double, high: Double, ticks: [Double], decimals: Int) {
        let finite = values.filter { $0.isFinite }
        var low = finite.min() ?? 0, high = finite.max() ?? 1
        if high - low < 1e-12 { low -= 0.5; high += 0.5 }
        let raw = (high - low) / 5
        let magnitude = pow(10, floor(log10(raw)))
        let step = [1.0, 2, 2.5, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        low = floor(low / step) * step
        high = ceil(high / step) * step
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)) + (step / pow(10, floor(log10(step))) == 2.5 ? 1 : 0))
        return (low, high, stride(from: low, through: high + step / 2, by: step).map { $0 }, decimals)
    }

    static func format(_ v: Double, decimals: Int) -> String { String(format: "%.\(decimals)f", v) }

    /// The chart as a standalone SVG document, `width` × `height` pixels (default 720 × 420), each
    /// axis rounded to ticks that cover its series' finite values.
    public func svg(width: Int = 720, height: Int = 420) -> String {
        let (ml, mr, mt, mb) = (70.0, right == nil ? 30.0 : 70.0, 50.0, 60.0)
        let w = Double(width) - ml - mr, h = Double(height) - mt - mb
        let n = max(left.values.count, right?.values.count ?? 0)
        func x(_ i: Int) -> Double { ml + (n <= 1 ? w / 2 : w * Double(i) / Double(n - 1)) }
        var s = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)" font-family="sans-serif" font-size="12">
        <rect width="100%" height="100%" fill="white"/>
        <text x="\(Double(width) / 2)" y="24" text-anchor="middle" font-size="16">\(title)</text>
        <line x1="\(ml)" y1="\(mt + h)" x2="\(ml + w)" y2="\(mt + h)" stroke="black"/>
        <text x="\(ml + w / 2)" y="\(Double(height) - 15)" text-anchor="middle">\(xLabel)</text>

        """
        for i in 0..<n {
            s += "<line x1=\"\(x(i))\" y1=\"\(mt + h)\" x2=\"\(x(i))\" y2=\"\(mt + h + 5)\" stroke=\"black\"/>"
            s += "<text x=\"\(x(i))\" y=\"\(mt + h + 20)\" text-anchor=\"middle\">\(i + 1)</text>\n"
        }
        func draw(_ series: Series, onRight: Bool) {
            let (low, high, ticks, decimals) = LineChart.axis(series.values)
            func y(_ v: Double) -> Double { mt + h - h * (v - low) / (high - low) }
            let ax = onRight ? ml + w : ml
            s += "<line x1=\"\(ax)\" y1=\"\(mt)\" x2=\"\(ax)\" y2=\"\(mt + h)\" stroke=\"\(series.color)\"/>\n"
            for t in ticks {
                let tx = onRight ? ax + 8 : ax - 8
                s += "<line x1=\"\(ax)\" y1=\"\(y(t))\" x2=\"\(onRight ? ax + 5 : ax - 5)\" y2=\"\(y(t))\" stroke=\"\(series.color)\"/>"
                s += "<text x=\"\(tx)\" y=\"\(y(t) + 4)\" text-anchor=\"\(onRight ? "start" : "end")\" fill=\"\(series.color)\">\(LineChart.format(t, decimals: decimals))</text>\n"
                if !onRight { s += "<line x1=\"\(ml)\" y1=\"\(y(t))\" x2=\"\(ml + w)\" y2=\"\(y(t))\" stroke=\"#ddd\"/>\n" }
            }
            let lx = onRight ? ml + w + 50 : ml - 50
            s += "<text x=\"\(lx)\" y=\"\(mt + h / 2)\" text-anchor=\"middle\" fill=\"\(series.color)\" transform=\"rotate(-90 \(lx) \(mt + h / 2))\">\(series.name)</text>\n"
            let points = series.values.enumerated().filter { $0.element.isFinite }.map { "\(x($0.offset)),\(y($0.element))" }
            s += "<polyline fill=\"none\" stroke=\"\(series.color)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>\n"
            for p in points { let c = p.split(separator: ","); s += "<circle cx=\"\(c[0])\" cy=\"\(c[1])\" r=\"3\" fill=\"\(series.color)\"/>" }
            s += "\n"
        }
        draw(left, onRight: false)
        if let right { draw(right, onRight: true) }
        s += "</svg>\n"
        return s
    }
}
