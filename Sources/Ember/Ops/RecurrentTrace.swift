// MARK: - What a fused recurrent node records for exporters

/// A fused recurrent layer's description on its tape node (`NodeAttributes.opaque`), for
/// `exportONNX`: the configuration, the layout, the lengths the layer ran with, and which of the
/// optional initial states are among the node's inputs (input, h0?, c0?, then the weights in
/// PyTorch's order).
struct RecurrentTrace {
    var config: RecurrentConfig
    var batchFirst: Bool
    var lengths: [Int]
    var hasH0: Bool
    var hasC0: Bool
}
