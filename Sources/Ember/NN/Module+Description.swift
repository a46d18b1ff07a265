// MARK: - Printing a model

extension Module {
    /// The module tree with each layer's configuration, as PyTorch's `repr(model)`: the type's name
    /// (without generic arguments), then `extraRepr` and each child as `(name): child`, indented:
    ///
    /// ```
    /// Classifier(
    ///   (rnn): RNN(28, 32, batch_first=True)
    ///   (fc): Linear(in_features=32, out_features=10, bias=True)
    /// )
    /// ```
    ///
    /// A module with no children and a one-line `extraRepr` prints on one line (`Linear(...)`), one
    /// with neither as `Name()`. `print(model)` and `String(describing: model)` show this.
    public var description: String {
        let extraLines = extraRepr.isEmpty ? [] : extraRepr.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let childLines = namedChildren().map { name, child in
            "(\(name)): " + child.description.replacingOccurrences(of: "\n", with: "\n  ")
        }
        let lines = extraLines + childLines
        var text = moduleTypeName(self) + "("
        if extraLines.count == 1 && childLines.isEmpty {
            text += extraLines[0]
        } else if !lines.isEmpty {
            text += "\n  " + lines.joined(separator: "\n  ") + "\n"
        }
        return text + ")"
    }

    /// Nothing: a module without configuration of its own to show (PyTorch's default `extra_repr`).
    public var extraRepr: String { "" }
}

/// A module's type name without generic arguments (`Linear`, not `Linear<Float>`), as PyTorch's `_get_name()`.
func moduleTypeName(_ module: AnyObject) -> String {
    let full = String(describing: type(of: module))
    return String(full.prefix { $0 != "<" })
}

/// Python's spelling of a Boolean, for PyTorch's `extra_repr` strings.
func pythonBool(_ value: Bool) -> String { value ? "True" : "False" }

// MARK: - Built-in layers' configuration (PyTorch's extra_repr, word for word)

extension Linear {
    /// `in_features=32, out_features=10, bias=True`.
    public var extraRepr: String { "in_features=\(inFeatures), out_features=\(outFeatures), bias=\(pythonBool(bias != nil))" }
}

extension Dropout {
    /// `p=0.5, inplace=False`.
    public var extraRepr: String { "p=\(p), inplace=False" }
}

extension Embedding {
    /// `10, 4` (numEmbeddings, embeddingDim), then `padding_idx=0` when there is one.
    public var extraRepr: String { "\(weight.shape[0]), \(weight.shape[1])" + (paddingIdx.map { ", padding_idx=\($0)" } ?? "") }
}

extension RecurrentLayer {
    /// `28, 32` then the arguments that differ from PyTorch's defaults: `num_layers`, `bias`,
    /// `batch_first`, `dropout`, `bidirectional` (PyTorch shows no nonlinearity for RNN).
    public var extraRepr: String {
        var s = "\(inputSize), \(hiddenSize)"
        if numLayers != 1 { s += ", num_layers=\(numLayers)" }
        if !bias { s += ", bias=False" }
        if batchFirst { s += ", batch_first=True" }
        if dropout != 0 { s += ", dropout=\(dropout)" }
        if bidirectional { s += ", bidirectional=True" }
        return s
    }
}

extension RecurrentCell {
    /// `2, 3`, then `bias=False` and an RNNCell's `nonlinearity=relu` when they differ from the defaults.
    public var extraRepr: String {
        var s = "\(inputSize), \(hiddenSize)"
        if bias_ih == nil { s += ", bias=False" }
        if let cell = self as? RNNCell<Scalar>, cell.nonlinearity == .relu { s += ", nonlinearity=relu" }
        return s
    }
}

/// Python's spelling of a tuple of integers: `(6,)`, `(2, 3)`.
func pythonTuple(_ values: [Int]) -> String {
    values.count == 1 ? "(\(values[0]),)" : "(" + values.map(String.init).joined(separator: ", ") + ")"
}

extension LayerNorm {
    /// `(6,), eps=1e-05, elementwise_affine=True, bias=True`.
    public var extraRepr: String {
        "\(pythonTuple(normalizedShape)), eps=\(eps), elementwise_affine=\(pythonBool(elementwiseAffine)), bias=\(pythonBool(bias != nil))"
    }
}

extension Conv1d {
    /// `3, 5, kernel_size=(3,), stride=(1,)`, then `padding`, `dilation` and `bias=False` when they
    /// differ from PyTorch's defaults.
    public var extraRepr: String {
        var s = "\(inChannels), \(outChannels), kernel_size=(\(kernelSize),), stride=(\(stride),)"
        if padding != 0 { s += ", padding=(\(padding),)" }
        if dilation != 1 { s += ", dilation=(\(dilation),)" }
        if bias == nil { s += ", bias=False" }
        return s
    }
}
