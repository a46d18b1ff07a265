// MARK: - ONNX's protobuf messages (the subset an exported model uses)

// Field numbers are onnx.proto's (github.com/onnx/onnx, onnx/onnx.proto, IR version 8): ModelProto,
// GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto with TypeProto.Tensor and
// TensorShapeProto, OperatorSetIdProto. Fields are written in field-number order, as protobuf's own
// serializers do, and fields left at their default are omitted.

/// `TensorProto.DataType` values.
enum ONNXDataType: Int {
    case float = 1, int32 = 6, int64 = 7, bool = 9, double = 11
}

/// A `TensorProto`: an initializer or a constant, its values as little-endian `raw_data`.
struct ONNXTensor: Equatable {
    var name: String
    var dims: [Int]
    var dataType: ONNXDataType
    var rawData: [UInt8]

    /// Float or Double values of `tensor`.
    init<Scalar: TensorScalar>(name: String, _ tensor: Tensor<Scalar>) {
        self.name = name
        dims = tensor.shape
        // The machines Swift runs Ember on (x86-64, arm64) are little-endian, so the values' memory
        // is raw_data's layout.
        if Scalar.self == Double.self {
            dataType = .double
            rawData = tensor.scalars.map { Double($0) }.withUnsafeBytes { Array($0) }
        } else {
            dataType = .float
            rawData = tensor.scalars.map { Float($0) }.withUnsafeBytes { Array($0) }
        }
    }

    /// int64 values.
    init(name: String, dims: [Int], int64 values: [Int]) {
        self.name = name
        self.dims = dims
        dataType = .int64
        rawData = values.flatMap { littleEndianBytes(UInt64(bitPattern: Int64($0))) }
    }

    /// Boolean values, one byte each (0 or 1).
    init(name: String, _ mask: Tensor<Bool>) {
        self.name = name
        dims = mask.shape
        dataType = .bool
        rawData = mask.scalars.map { $0 ? 1 : 0 }
    }

    /// int32 values.
    init(name: String, dims: [Int], int32 values: [Int]) {
        self.name = name
        self.dims = dims
        dataType = .int32
        rawData = values.flatMap { littleEndianBytes(UInt32(bitPattern: Int32(truncatingIfNeeded: $0))) }
    }

    func encode(_ w: inout ProtobufWriter) {
        w.repeatedInts(1, dims)                          // dims
        w.int(2, dataType.rawValue)                    // data_type
        w.string(8, name)                              // name
        w.bytes(9, rawData)                            // raw_data
    }
}

/// The little-endian bytes of an unsigned integer.
func littleEndianBytes<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
    (0..<(T.bitWidth / 8)).map { UInt8(truncatingIfNeeded: value >> ($0 * 8)) }
}

/// An `AttributeProto` of one of the kinds an exported node uses.
struct ONNXAttribute: Equatable {
    enum Value: Equatable {
        case float(Float), int(Int), string(String), tensor(ONNXTensor), floats([Float]), ints([Int]), strings([String])
    }
    var name: String
    var value: Value

    init(_ name: String, _ value: Value) {
        self.name = name
        self.value = value
    }

    func encode(_ w: inout ProtobufWriter) {
        w.string(1, name)                              // name
        let type: Int
        switch value {
        case .float(let f): w.float(2, f); type = 1    // f, FLOAT
        case .int(let i): w.int(3, i); type = 2        // i, INT
        case .string(let s): w.string(4, s); type = 3  // s, STRING
        case .tensor(let t): w.message(5) { t.encode(&$0) }; type = 4   // t, TENSOR
        case .floats(let fs): w.repeatedFloats(7, fs); type = 6           // floats, FLOATS
        case .ints(let xs): w.repeatedInts(8, xs); type = 7               // ints, INTS
        case .strings(let ss): for x in ss { w.string(9, x) }; type = 8   // strings, STRINGS
        }
        w.int(20, type)                                // type
    }
}

/// A `NodeProto`: one operator application. An empty input name is an omitted optional input.
struct ONNXNode: Equatable {
    var opType: String
    var inputs: [String]
    var outputs: [String]
    var name: String
    var attributes: [ONNXAttribute] = []

    func encode(_ w: inout ProtobufWriter) {
        for i in inputs { w.string(1, i) }             // input
        for o in outputs { w.string(2, o) }            // output
        w.string(3, name)                              // name
        w.string(4, opType)                            // op_type
        for a in attributes { w.message(5) { a.encode(&$0) } }           // attribute
    }
}

/// A `ValueInfoProto` for a tensor: its name, element type and shape, where a dimension is a number
/// or a symbolic name (`dim_param`) for one that may vary (the batch, the sequence), or neither.
struct ONNXValueInfo: Equatable {
    /// A size, a named size that may vary, or an unnamed one that may vary.
    enum Dimension: Equatable { case value(Int), param(String), unknown }
    var name: String
    var elementType: ONNXDataType
    var shape: [Dimension]

    func encode(_ w: inout ProtobufWriter) {
        w.string(1, name)                              // name
        w.message(2) { type in                         // type: TypeProto
            type.message(1) { tensor in                // tensor_type: TypeProto.Tensor
                tensor.int(1, elementType.rawValue)    // elem_type
                tensor.message(2) { shapeProto in      // shape: TensorShapeProto
                    for d in shape {
                        shapeProto.message(1) { dim in // dim: Dimension
                            switch d {
                            case .value(let v): dim.int(1, v)       // dim_value
                            case .param(let p): dim.string(2, p)    // dim_param
                            case .unknown: break                    // neither
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A `GraphProto`: nodes in topological order, initializers, inputs and outputs.
struct ONNXGraph: Equatable {
    var name: String
    var nodes: [ONNXNode] = []
    var initializers: [ONNXTensor] = []
    var inputs: [ONNXValueInfo] = []
    var outputs: [ONNXValueInfo] = []

    func encode(_ w: inout ProtobufWriter) {
        for n in nodes { w.message(1) { n.encode(&$0) } }               // node
        w.string(2, name)                                               // name
        for t in initializers { w.message(5) { t.encode(&$0) } }        // initializer
        for i in inputs { w.message(11) { i.encode(&$0) } }             // input
        for o in outputs { w.message(12) { o.encode(&$0) } }            // output
    }
}

/// A `ModelProto` importing one operator set of the default domain.
struct ONNXModel: Equatable {
    var irVersion: Int
    var opsetVersion: Int
    var producerName: String
    var producerVersion: String
    var docString: String = ""
    var graph: ONNXGraph

    /// The file's bytes.
    func serialized() -> [UInt8] {
        var w = ProtobufWriter()
        w.int(1, irVersion)                                              // ir_version
        w.string(2, producerName)                                        // producer_name
        w.string(3, producerVersion)                                     // producer_version
        if !docString.isEmpty { w.string(6, docString) }                 // doc_string
        w.message(7) { graph.encode(&$0) }                               // graph
        w.message(8) { opset in                                          // opset_import
            opset.string(1, "")                                          // domain: the default
            opset.int(2, opsetVersion)                                   // version
        }
        return w.bytes
    }
}
