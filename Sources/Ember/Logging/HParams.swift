// MARK: - Hyperparameters for TensorBoard's HParams dashboard

/// One hyperparameter's value for `SummaryWriter.addHParams`: a number, a string or a Boolean (the
/// three kinds the HParams plugin's `google.protobuf.Value` holds, as in `torch.utils.tensorboard`).
/// Literals convert: `["lr": 0.001, "cell": "lstm", "layers": 2, "bidirectional": false]`.
public enum HParamValue: Equatable, Sendable, ExpressibleByFloatLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByStringLiteral, ExpressibleByBooleanLiteral {
    /// A number (TensorBoard stores every number as a double).
    case number(Double)
    /// A string, such as a cell kind.
    case string(String)
    /// A Boolean flag.
    case bool(Bool)

    /// `.number(value)`, from a floating-point literal.
    public init(floatLiteral value: Double) { self = .number(value) }
    /// `.number(Double(value))`, from an integer literal.
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    /// `.string(value)`, from a string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// `.bool(value)`, from `true` or `false`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
}

/// The three summaries PyTorch's `hparams()` writes (tags `_hparams_/experiment`,
/// `_hparams_/session_start_info`, `_hparams_/session_end_info`), each a value whose metadata names
/// the plugin `hparams` and holds an `HParamsPluginData` (version 1 = 0; experiment 2,
/// session_start_info 3, session_end_info 4), field numbers from TensorBoard's
/// `plugins/hparams/plugin_data.proto` and `api.proto`. Names are written in sorted order.
enum HParamsEncoding {
    static func summaryValues(_ hparams: [String: HParamValue], metrics: [String]) -> [[UInt8]] {
        let names = hparams.keys.sorted()
        // Experiment: hparam_infos 4 (HParamInfo: name 1, type 4), metric_infos 5 (MetricInfo: name 1 = MetricName: tag 2).
        let experiment = ProtobufWriter { e in
            for name in names {
                e.message(4) { info in
                    info.string(1, name)
                    info.int(4, dataType(hparams[name]!))
                }
            }
            for metric in metrics.sorted() { e.message(5) { $0.message(1) { $0.string(2, metric) } } }
        }.bytes
        // SessionStartInfo: hparams 1, a map<string, google.protobuf.Value> (entries: key 1, value 2).
        let start = ProtobufWriter { s in
            for name in names {
                s.message(1) { entry in
                    entry.string(1, name)
                    entry.message(2) { encode(hparams[name]!, into: &$0) }
                }
            }
        }.bytes
        // SessionEndInfo: status 1 = STATUS_SUCCESS (1).
        let end = ProtobufWriter { $0.int(1, 1) }.bytes
        return [("experiment", 2, experiment), ("session_start_info", 3, start), ("session_end_info", 4, end)].map { tag, field, message in
            EventEncoding.pluginValue(tag: "_hparams_/" + tag, plugin: "hparams", content: ProtobufWriter { $0.bytes(field, message) }.bytes)
        }
    }

    /// `DataType`: DATA_TYPE_STRING 1, DATA_TYPE_BOOL 2, DATA_TYPE_FLOAT64 3.
    private static func dataType(_ value: HParamValue) -> Int {
        switch value {
        case .string: return 1
        case .bool: return 2
        case .number: return 3
        }
    }

    /// `google.protobuf.Value`: number_value 2 (double), string_value 3, bool_value 4 (a oneof, so
    /// written even when zero, empty or false).
    private static func encode(_ value: HParamValue, into p: inout ProtobufWriter) {
        switch value {
        case .number(let x): p.double(2, x)
        case .string(let s): p.string(3, s)
        case .bool(let b): p.bool(4, b)
        }
    }
}
