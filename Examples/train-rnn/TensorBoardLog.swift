// train-rnn's TensorBoard log (--tensorboard DIR): what is written, and when.
import Ember
import EmberCLI
import Foundation

/// The TensorBoard event file of one run, in `--tensorboard DIR`. Every value is logged at the
/// optimizer step of the run it belongs to (counted from 1 over the whole run, as the metrics CSV's
/// `step` column; a resumed run continues the count):
///
/// - at the start: the text `run/config` (the command line and the model's parameter count);
/// - every step: the scalar `train/loss`, that step's minibatch loss;
/// - at every evaluation (after every epoch, or every `--eval-every` steps): the scalars
///   `train/mean_loss` (the mean minibatch loss since the previous evaluation, the CSV's
///   `train_loss`), `test/accuracy` (percent) and `train/learning_rate`, and histograms of every
///   parameter (`weights/rnn.weight_ih_l0`, ...) and of its gradient from the last step
///   (`gradients/...`); then the file is flushed;
/// - at the end: the hyperparameters and the final test accuracy and mean loss for the HParams
///   dashboard (a run of their own, as PyTorch's `add_hparams` writes them).
struct TensorBoardLog {
    let writer: SummaryWriter
    let directory: String

    /// Creates `directory` if needed and opens a new event file in it (exit 74 if it cannot).
    init(directory: String, command: [String], parameterCount: Int) throws {
        self.directory = directory
        do {
            writer = try SummaryWriter(logDirectory: URL(fileURLWithPath: directory))
        } catch {
            throw CommandError("train-rnn: cannot write --tensorboard \(directory): \(Self.reason(error, directory))", code: .ioError)
        }
        let quoted = command.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
        try write { try $0.addText("run/config", "`\(quoted)`\n\n\(grouped(parameterCount)) parameters", step: 0) }
    }

    /// The minibatch loss of step `step`.
    func step(_ step: Int, loss: Double) throws {
        try write { try $0.addScalar("train/loss", loss, step: step) }
    }

    /// The figures of an evaluation, the learning rate, and histograms of the parameters and their gradients.
    func evaluation(step: Int, meanLoss: Double, accuracy: Double, learningRate: Double,
                    parameters: [(name: String, parameter: Variable<Float>)]) throws {
        try write { w in
            try w.addScalar("train/mean_loss", meanLoss, step: step)
            try w.addScalar("test/accuracy", accuracy, step: step)
            try w.addScalar("train/learning_rate", learningRate, step: step)
            for (name, parameter) in parameters {
                try w.addHistogram("weights/\(name)", parameter.data, step: step)
                if let grad = parameter.grad { try w.addHistogram("gradients/\(name)", grad, step: step) }
            }
            try w.flush()
        }
    }

    /// The run's hyperparameters with its final accuracy and loss, then the file is closed.
    func finish(hparams: [String: HParamValue], accuracy: Double, meanLoss: Double?, step: Int) throws {
        var metrics = ["hparam/test_accuracy": accuracy]
        if let meanLoss { metrics["hparam/train_loss"] = meanLoss }
        try write { w in
            try w.addHParams(hparams, metrics: metrics, step: step)
            try w.close()
        }
    }

    /// Runs `body`, reporting a failed write as train-rnn's I/O error (exit 74).
    private func write(_ body: (SummaryWriter) throws -> Void) throws {
        do { try body(writer) } catch {
            throw CommandError("train-rnn: cannot write --tensorboard \(directory): \(Self.reason(error, directory))", code: .ioError)
        }
    }

    /// What went wrong, without repeating the directory's path.
    private static func reason(_ error: Error, _ directory: String) -> String {
        guard let io = error as? EmberIOError else { return "\(error)" }
        return io.path == URL(fileURLWithPath: directory).path ? io.reason : io.description
    }
}
