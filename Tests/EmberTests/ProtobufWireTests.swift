import Testing
@testable import Ember

/// The protobuf encoding of the ONNX writer against bytes derived by hand from the protobuf encoding
/// rules (protobuf.dev, "Encoding") and onnx.proto's field numbers; each expected byte is commented.
/// The last three are also exactly what the `onnx` Python package (1.23.2) serializes for the same
/// messages (`helper.make_model(...)` with `ir_version = 8`, then `SerializeToString()`), checked once
/// when this test was written.
@Suite struct ProtobufWireTests {
    @Test func varintsAndScalars() {
        var w = ProtobufWriter()
        w.varint(1); w.varint(127); w.varint(128); w.varint(300)
        #expect(w.bytes == [0x01, 0x7F, 0x80, 0x01, 0xAC, 0x02])
        w = ProtobufWriter()
        w.int(3, -1)                 // key 3<<3|0 = 0x18, then -1 as ten bytes of two's complement
        #expect(w.bytes == [0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        w = ProtobufWriter()
        w.float(2, 1)                // key 2<<3|5 = 0x15, then 1.0f little-endian (0x3F800000)
        w.float(2, -2)               // -2.0f = 0xC0000000
        #expect(w.bytes == [0x15, 0x00, 0x00, 0x80, 0x3F, 0x15, 0x00, 0x00, 0x00, 0xC0])
        w = ProtobufWriter()
        w.repeatedInts(8, [1, 300])  // unpacked: key 8<<3|0 = 0x40 before each value
        w.int(20, 7)                 // a two-byte key: 20<<3 = 160 = 0xA0 0x01
        #expect(w.bytes == [0x40, 0x01, 0x40, 0xAC, 0x02, 0xA0, 0x01, 0x07])
        w = ProtobufWriter()
        w.string(1, "ab")
        w.message(7) { $0.int(1, 2) }
        #expect(w.bytes == [0x0A, 0x02, 0x61, 0x62, 0x3A, 0x02, 0x08, 0x02])
    }

    @Test func tensorAndAttribute() {
        var w = ProtobufWriter()
        ONNXTensor(name: "w", Tensor<Float>([1, -2])).encode(&w)
        #expect(w.bytes == [0x08, 0x02,                                  // dims: 2
                            0x10, 0x01,                                  // data_type: FLOAT
                            0x42, 0x01, 0x77,                            // name (8): "w"
                            0x4A, 0x08, 0x00, 0x00, 0x80, 0x3F, 0x00, 0x00, 0x00, 0xC0])   // raw_data (9)
        w = ProtobufWriter()
        ONNXTensor(name: "i", dims: [], int64: [-1]).encode(&w)          // a scalar: no dims
        #expect(w.bytes == [0x10, 0x07, 0x42, 0x01, 0x69, 0x4A, 0x08] + [UInt8](repeating: 0xFF, count: 8))
        w = ProtobufWriter()
        ONNXAttribute("perm", .ints([1, 0])).encode(&w)
        #expect(w.bytes == [0x0A, 0x04, 0x70, 0x65, 0x72, 0x6D,          // name: "perm"
                            0x40, 0x01, 0x40, 0x00,                      // ints (8): 1, 0
                            0xA0, 0x01, 0x07])                           // type (20): INTS
        w = ProtobufWriter()
        ONNXAttribute("alpha", .float(0.5)).encode(&w)
        #expect(w.bytes == [0x0A, 0x05, 0x61, 0x6C, 0x70, 0x68, 0x61,    // name: "alpha"
                            0x15, 0x00, 0x00, 0x00, 0x3F,                // f (2): 0.5f
                            0xA0, 0x01, 0x01])                           // type: FLOAT
    }

    /// A whole model: y = Relu(x), x and y float [N, 2], opset 17, IR version 8.
    static let reluModel = ONNXModel(
        irVersion: 8, opsetVersion: 17, producerName: "ember", producerVersion: "1",
        graph: ONNXGraph(name: "g", nodes: [ONNXNode(opType: "Relu", inputs: ["x"], outputs: ["y"], name: "n")],
                         inputs: [ONNXValueInfo(name: "x", elementType: .float, shape: [.param("N"), .value(2)])],
                         outputs: [ONNXValueInfo(name: "y", elementType: .float, shape: [.param("N"), .value(2)])]))

    /// The bytes of `reluModel`.
    static let reluModelBytes: [UInt8] = {
        // ValueInfoProto of `name`: name (1), type (2) { tensor_type (1) { elem_type (1) FLOAT,
        // shape (2) { dim (1) { dim_param (2) "N" }, dim (1) { dim_value (1) 2 } } } }
        func valueInfo(_ name: UInt8) -> [UInt8] {
            [0x0A, 0x01, name,
             0x12, 0x0F,                                                 // type: 15 bytes
             0x0A, 0x0D,                                                 //   tensor_type: 13 bytes
             0x08, 0x01,                                                 //     elem_type: FLOAT
             0x12, 0x09,                                                 //     shape: 9 bytes
             0x0A, 0x03, 0x12, 0x01, 0x4E,                               //       dim { dim_param "N" }
             0x0A, 0x02, 0x08, 0x02]                                     //       dim { dim_value 2 }
        }
        let node: [UInt8] = [0x0A, 0x01, 0x78,                           // input (1): "x"
                             0x12, 0x01, 0x79,                           // output (2): "y"
                             0x1A, 0x01, 0x6E,                           // name (3): "n"
                             0x22, 0x04, 0x52, 0x65, 0x6C, 0x75]         // op_type (4): "Relu"
        let graph: [UInt8] = [0x0A, 0x0F] + node                         // node (1): 15 bytes
            + [0x12, 0x01, 0x67]                                         // name (2): "g"
            + [0x5A, 0x14] + valueInfo(0x78)                             // input (11): 20 bytes
            + [0x62, 0x14] + valueInfo(0x79)                             // output (12): 20 bytes
        return [0x08, 0x08,                                              // ir_version (1): 8
                0x12, 0x05, 0x65, 0x6D, 0x62, 0x65, 0x72,                // producer_name (2): "ember"
                0x1A, 0x01, 0x31]                                        // producer_version (3): "1"
            + [0x3A, 0x40] + graph                                       // graph (7): 64 bytes
            + [0x42, 0x04, 0x0A, 0x00, 0x10, 0x11]                       // opset_import (8) { domain "", version 17 }
    }()

    @Test func wholeModel() {
        let bytes = Self.reluModel.serialized()
        #expect(bytes.count == 84)
        #expect(bytes == Self.reluModelBytes)
    }
}
