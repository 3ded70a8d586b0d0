"""Every number the doctor judges by, with where it comes from.

The rules of thumb are the teachers' (CS231n's notes on "babysitting the learning process",
Karpathy's "A recipe for training neural networks" and makemore lessons, Smith 2017 and
fastai's ``lr_find``); where they give no number, the margin is a round one (a factor of 3,
i.e. half a decade, warns; a factor of 10 or more fails), and the comment says so.  Where a
margin was checked against healthy setups, it was against the presets with the defaults
``cnn-numpy train`` uses (the settings that reach the README's accuracies), never against a
test.  docs/when-training-goes-wrong.md quotes these numbers: change both.
"""

from __future__ import annotations

# --- how much work the checks do --------------------------------------------------------------
#: images the checks that train (overfit, update_ratio, lr) draw from: at most this many
SAMPLES = 1024
#: images for the forward passes that measure init_loss, dead_relu and saturation
PROBE = 256

# --- labels: class balance --------------------------------------------------------------------
#: largest / smallest class count above which the imbalance is "severe": an order of magnitude
#: (the ratio rho = max/min of Buda, Maki & Mazurowski 2018, "A systematic study of the class
#: imbalance problem in convolutional neural networks"; the cut-off is a round number)
IMBALANCE_WARN = 10.0

# --- input_scale: zero mean, unit spread (LeCun, Bottou, Orr & Mueller 1998, "Efficient
# BackProp", section 4.3; CS231n "Data preprocessing").  No paper gives a cut-off.  Too large
# is the harmful side (raw 0-255 pixels, mean 33 and std 78: huge pre-activations, saturated
# units), so half a decade above unit scale warns and a decade fails; too small only slows
# the first layer (its gradient scales with its input), so a decade below warns and two fail.
# Pixels in [0, 1] (std about 0.2-0.3) pass ---------------------------------------------------
SCALE_WARN = 3.0
SCALE_FAIL = 10.0
SPREAD_WARN = 0.1
SPREAD_FAIL = 0.01

# --- init_loss: at initialisation the loss should be about ln C, the loss of predicting
# every class with probability 1/C (CS231n: "expect 2.302 for 10 classes"; Karpathy: "verify
# loss @ init").  The presets at initialisation: 1.00-1.09 x ln C.  Round margins ------------
INIT_LOSS_WARN = 1.5  # x ln C
INIT_LOSS_FAIL = 3.0  # x ln C: on average confidently wrong

# --- gradients: relative error of backward() against central differences in float64 ------------
#: below this a gradient passes: the library's own tolerance (tests/helpers/__init__.py, gradcheck.py)
GRAD_OK = 1e-6
#: at or above this it is wrong (CS231n: "1e-2 > relative error > 1e-4 should make you feel
#: uncomfortable"); between the two: a warning
GRAD_FAIL = 1e-4
#: images in the tiny batch each layer is checked on
GRAD_BATCH = 2
#: a parameter with more entries than this is checked on an evenly spread sample of that many
#: (CS231n's grad_check_sparse idea): LeNet's 200,704-weight Linear would need 400,000 forward
#: passes for a full check
GRAD_MAX_ENTRIES = 256
#: spatial sizes tried, smallest first, for the input of a layer that takes images: a conv
#: checks the same code on 6x6 as on 28x28, at a fraction of the cost
GRAD_SIZES = (4, 6, 8, 12, 16)

# --- overfit: "take a tiny portion (e.g. 20 examples) of your data and make sure you can
# achieve zero cost" (CS231n); its lecture example trains those 20 for 200 epochs ---------------
OVERFIT_SAMPLES = 20
OVERFIT_EPOCHS = 200
#: at most this many optimizer steps (small batches make many steps per epoch)
OVERFIT_MAX_STEPS = 1000
#: training accuracy on the tiny set: 1.0 passes, this much or more warns, less fails
OVERFIT_WARN = 0.9
#: a Dropout rate above this warns: "a retention probability p = 0.5 for hidden units seems
#: close to optimal" (Srivastava et al. 2014, "Dropout", JMLR, section 7); the tiny-batch test
#: runs in eval mode, so it cannot see a rate that drops most of each layer while training
DROPOUT_WARN = 0.5

# --- dead_relu: units never active on the probe batch, per layer.  CS231n: "as much as 40% of
# your network can be dead" with a learning rate set too high.  But healthy nets have them
# too: a unit whose weighted sum is negative on every image stays off, and on images that
# vary little (the lines' few features) that can be half of a random initialisation's units
# (the sign of w.x + b for nearly one x); Adam switches off more while it trains.  Measured
# with benchmarks/dead_relus.py (the presets, train's defaults; the worst layer is always
# LeNet's Linear(1568, 128)): at init 9-20% on the lines (seeds 0-2), 4-8% on MNIST; trained
# 6-7% (lines, 5 epochs), 36-40% (MNIST, 3 epochs, 98.9-99.0% test); the seed net 0-12% (one
# filter of 8), the resnet 0%.  The bugs: biases at -20 kill 100% of the first layer (every
# preset); Adam at 10x MNIST's lr kills 100% of LeNet's last two (11% test).  So half again
# the most a healthy net showed warns, nearly the whole layer fails ---------------------------
DEAD_WARN = 0.6
DEAD_FAIL = 0.9

# --- saturation: tanh outputs with |t| > 0.97 pass almost no gradient (Karpathy, makemore part
# 3, who aims for a few percent, ~5%); for a sigmoid the same zone is s < 0.015 or s > 0.985
# (tanh(x) = 2 sigmoid(2x) - 1).  Twice his few percent warns; half the layer fails ----------
TANH_LIMIT = 0.97
SATURATION_WARN = 0.1
SATURATION_FAIL = 0.5

# --- update_ratio: |update| / |weight| per step "should be somewhere around 1e-3" (CS231n;
# Karpathy's makemore plots log10 of it against -3).  Weights only (biases and BatchNorm start
# at 0 or 1).  Measured on the presets with their defaults (diagnose(checks=["update_ratio"]),
# two seeds each), the busiest weight's median ratio over the short run is 1e-2 to 2.4e-2:
# Adam's first steps move small weights by a percent or more.  Hence wide margins -----------
UPDATE_RULE = 1e-3
#: a weight whose typical (median) ratio is above this is rewritten within ten steps: warn
UPDATE_HIGH_WARN = 1e-1
#: any single step larger than the weight itself (ratio > 1): fail
UPDATE_HIGH_FAIL = 1.0
#: the busiest weight moving less than this per step: warn (a decade below the rule) ...
UPDATE_LOW_WARN = 1e-4
#: ... or fail (two decades below: a thousand steps to change it by 1%)
UPDATE_LOW_FAIL = 1e-5
#: the short run at the user's learning rate: at least this many steps, and at least one pass
#: over the (at most SAMPLES) images
TRIAL_STEPS = 50

# --- lr: the learning-rate range test (Smith 2017, "Cyclical learning rates for training
# neural networks", section 3.3; fastai's lr_find: 1e-7 to 10, exponentially, 100 steps, stop
# when the smoothed loss passes 4x its minimum, suggest the rate at the minimum / 10) ----------
LR_START = 1e-7
LR_END = 10.0
#: points on the curve; with small batches the test runs longer (one pass over the images)
LR_STEPS = 100
#: the curve is the loss on a fixed probe batch (Smith measured held-out accuracy), smoothed
#: with an exponential moving average (fastai smooths with beta = 0.98 over training-batch
#: losses; a fixed probe is far less noisy, so a shorter memory suffices and lags less)
LR_SMOOTHING = 0.8
LR_PROBE = 64
#: stop when the smoothed loss passes this multiple of its minimum (fastai)
LR_DIVERGE = 4.0
#: fastai's "minimum" suggestion: the rate at the lowest loss divided by 10
LR_SUGGEST_DIVISOR = 10.0
#: the user's rate past the lowest point of the curve: warn; this many times past it: fail.
#: Measured: the presets' defaults are at 0.001-0.24x the lowest point's rate
LR_HIGH_FAIL = 3.0
#: the curve "starts to fall" (Smith's lower bound, base_lr: "the learning rate value when the
#: accuracy starts to increase") where it has come down this fraction of its whole drop
LR_FALL_START = 0.1
#: the user's rate this many times below where the curve starts to fall: warn / fail.  The
#: test spends only a few steps per decade of rates, so it favours rates that learn fast; a
#: rate somewhat below where its curve starts to fall still trains well over many epochs.
#: Measured on the presets with their defaults (diagnose(checks=["lr"]), two seeds each): the
#: fall starts at 0.1-0.8x their rate, and at 5.7-8.3x for the seed net's per-sample SGD (lr
#: 0.01, batch 1, which reaches 100% on the lines in one epoch).  Hence 1.5 decades warn,
#: 2.5 fail
LR_LOW_WARN = 30.0
LR_LOW_FAIL = 300.0
#: the curve counts as "the loss fell" when its minimum is this fraction below the start
LR_MIN_DROP = 0.05

# --- labels follow the images: the loss on images held out of a short run at the suggested
# rate must fall by LR_MIN_DROP; random labels give none (Zhang et al. 2017) -----------------
#: fewest held-out images for the measurement to mean anything (a quarter of the data, at most
#: LR_PROBE, are held out)
SIGNAL_MIN_HELD = 8
