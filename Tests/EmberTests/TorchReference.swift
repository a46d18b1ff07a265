// Reference values computed by PyTorch 2.15.0 (torch.float64) with this script:
//   import math, torch
//   torch.set_default_dtype(torch.float64)
//   p0 = [0.5, -1.2, 2.0, 0.01, -0.3]
//   def grads(step): return [math.sin(1.3 * step + 0.7 * i) for i in range(5)]
//   O = torch.optim
//   configs = [
//     ("sgd", lambda p: O.SGD(p, lr=0.1)),
//     ("sgdMomentum", lambda p: O.SGD(p, lr=0.1, momentum=0.9, dampening=0.1, weight_decay=0.01)),
//     ("sgdNesterov", lambda p: O.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1)),
//     ("adamAmsgrad", lambda p: O.Adam(p, lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True)),
//     ("adamW", lambda p: O.AdamW(p, lr=0.01, weight_decay=0.1)),
//     ("adamWAmsgrad", lambda p: O.AdamW(p, lr=0.02, amsgrad=True)),
//     ("adagrad", lambda p: O.Adagrad(p, lr=0.1, lr_decay=0.01, weight_decay=0.05, initial_accumulator_value=0.1)),
//     ("rmsprop", lambda p: O.RMSprop(p, lr=0.01)),
//     ("rmspropCentered", lambda p: O.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1)),
//   ]
//   print("    static let optimizerFinal: [String: [Double]] = [")
//   for name, make in configs:
//       p = torch.tensor(p0, requires_grad=True)
//       opt = make([p])
//       for s in range(6):
//           p.grad = torch.tensor(grads(s))
//           opt.step()
//       print(f'        "{name}": [{", ".join(repr(v) for v in p.detach().tolist())}],')
//   print("    ]")
//   # clipping
//   p = torch.tensor(p0, requires_grad=True); q = torch.tensor([3.0, -4.0], requires_grad=True)
//   p.grad = torch.tensor(grads(0)); q.grad = torch.tensor([3.0, -4.0])
//   n = torch.nn.utils.clip_grad_norm_([p, q], max_norm=1.0)
//   print(f"    static let clipNorm = {n.item()!r}")
//   print(f"    static let clipNormGrads: [Double] = [{', '.join(repr(v) for v in (p.grad.tolist() + q.grad.tolist()))}]")
//   # schedulers
//   p = torch.tensor(p0, requires_grad=True)
//   opt = O.SGD([p], lr=0.1); s1 = O.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
//   lrs = []
//   for e in range(8): opt.step(); s1.step(); lrs.append(opt.param_groups[0]["lr"])
//   print(f"    static let stepLR: [Double] = [{', '.join(repr(v) for v in lrs)}]")
//   opt = O.SGD([p], lr=0.1); s2 = O.lr_scheduler.CosineAnnealingLR(opt, T_max=5, eta_min=0.01)
//   lrs = []
//   for e in range(8): opt.step(); s2.step(); lrs.append(opt.param_groups[0]["lr"])
//   print(f"    static let cosineLR: [Double] = [{', '.join(repr(v) for v in lrs)}]")
//   print(f"    // torch {torch.__version__}")
enum TorchReference {
    static let p0: [Double] = [0.5, -1.2, 2.0, 0.01, -0.3]
    static let optimizerFinal: [String: [Double]] = [
        "sgd": [0.4877041269577654, -1.2821869615305577, 1.8865757621956392, -0.08131632273616943, -0.3262609142282549],
        "sgdMomentum": [0.2779758619775044, -1.531070182011042, 1.6442075021817768, -0.13321639356794665, -0.19102114387513966],
        "sgdNesterov": [0.3874305847130884, -1.2323387656389817, 1.6787030931350815, -0.07239306194664766, -0.2541050461884001],
        "adamAmsgrad": [0.4733504025626763, -1.2180649782971231, 1.9705337880800313, -0.0007908918874589858, -0.2974610015384325],
        "adamW": [0.4807925704368058, -1.2200933456028944, 1.9663797615955385, -0.0017746378114124493, -0.2964433095985982],
        "adamWAmsgrad": [0.4668782729561617, -1.2532861195259994, 1.9541587419455801, -0.013527501636434939, -0.2961288481778834],
        "adagrad": [0.43912121555157807, -1.2914622334449424, 1.8767377774102387, -0.05522078827542133, -0.3151930157888901],
        "rmsprop": [0.4493624225696097, -1.3227986289221898, 1.8980893588814916, -0.061376742050154656, -0.34488948319331547],
        "rmspropCentered": [0.3881749215203202, -1.2572445656107167, 1.913327957048867, -0.020493453678534602, -0.3141352997452479],
    ]
    static let clipNorm = 5.219528242121067
    static let clipNormGrads: [Double] = [0.0, 0.1234244808974189, 0.18880049986806888, 0.16538069366157826, 0.064179763081426, 0.5747644779514418, -0.7663526372685892]
    static let stepLR: [Double] = [0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025, 0.025]
    static let cosineLR: [Double] = [0.09140576474687263, 0.06890576474687263, 0.04109423525312736, 0.018594235253127367, 0.01, 0.018594235253127367, 0.04109423525312739, 0.06890576474687267]
}
