// MARK: - TensorBoard's Event and Summary messages

/// Encoders for the messages of TensorBoard's `event.proto` and `summary.proto` (field numbers from
/// `tensorboard/compat/proto`), as `torch.utils.tensorboard` fills them.
enum EventEncoding {
    /// `Event`: wall_time 1 (double, seconds since 1970), step 2 (int64), then one of file_version 3
    /// (string) or summary 5 (`Summary`).
    enum What {
        case fileVersion(String)
        case summary(values: [[UInt8]])
    }

    static func event(wallTime: Double, step: Int, _ what: What) -> [UInt8] {
        ProtobufWriter { p in
            p.double(1, wallTime)
            if step != 0 { p.int(2, step) }
            switch what {
            case .fileVersion(let version): p.string(3, version)
            case .summary(let values): p.message(5) { s in for v in values { s.bytes(1, v) } }   // Summary.value 1
            }
        }.bytes
    }

    // MARK: - Summary.Value: tag 1, simple_value 2, histo 5, tensor 8, metadata 9

    /// A scalar as `simple_value` (a float), which TensorBoard's scalar dashboard reads.
    static func scalarValue(tag: String, _ value: Float) -> [UInt8] {
        ProtobufWriter { p in
            p.string(1, tag)
            p.float(2, value)
        }.bytes
    }

    /// A histogram as `histo`.
    static func histogramValue(tag: String, _ histogram: HistogramSummary) -> [UInt8] {
        ProtobufWriter { p in
            p.string(1, tag)
            p.bytes(5, histogram.encoded)
        }.bytes
    }

    /// Text for the text plugin: a rank-1 `DT_STRING` tensor of one element, with metadata naming
    /// the plugin (`TextPluginData` version 0, which encodes to nothing) and the tensor data class.
    static func textValue(tag: String, _ text: String) -> [UInt8] {
        ProtobufWriter { p in
            p.string(1, tag)
            p.message(8) { tensor in                     // TensorProto
                tensor.int(1, 7)                         // dtype: DT_STRING
                tensor.message(2) { shape in             // tensor_shape: TensorShapeProto
                    shape.message(2) { $0.int(1, 1) }    // dim { size: 1 }
                }
                tensor.string(8, text)                   // string_val
            }
            p.bytes(9, metadata(plugin: "text", content: [], dataClass: 2))   // DATA_CLASS_TENSOR
        }.bytes
    }

    /// A value that carries only metadata for `plugin` (the hparams plugin's summaries have no
    /// tensor in PyTorch's writer; TensorBoard adds its own empty one when it reads them).
    static func pluginValue(tag: String, plugin: String, content: [UInt8]) -> [UInt8] {
        ProtobufWriter { p in
            p.string(1, tag)
            p.bytes(9, metadata(plugin: plugin, content: content, dataClass: 0))
        }.bytes
    }

    /// `SummaryMetadata`: plugin_data 1 (`PluginData`: plugin_name 1, content 2), data_class 4.
    static func metadata(plugin: String, content: [UInt8], dataClass: Int) -> [UInt8] {
        ProtobufWriter { p in
            p.message(1) { data in
                data.string(1, plugin)
                if !content.isEmpty { data.bytes(2, content) }
            }
            if dataClass != 0 { p.int(4, dataClass) }
        }.bytes
    }
}
