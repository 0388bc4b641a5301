//! Learn's lessons, in full.

texts! {
    pub enum LearnText {
        NavScaleZeroPoint => "Scale and zero point", "缩放因子与零点";
        NavOutliers => "Outliers and calibration", "离群值与校准";
        NavEma => "Moving average against min/max", "滑动平均与 min/max 的对比";
        NavPerChannel => "Per tensor against per channel", "逐张量与逐通道的对比";
        NavBits => "Bits against error", "位数与误差";
        NavPtqQat => "PTQ against QAT", "PTQ 与 QAT 的对比";
        NavRealModel => "A real model", "真实模型";
        OutliersTitle => "Why one outlier ruins min/max", "为什么一个离群值就能毁掉 min/max";
        OutliersP1 => "Min/max calibration stretches the grid to the largest value it sees. Replace one value in a thousand of a N(0, 1) tensor by ±50, and the step grows about twelvefold: the bulk of the values, within ±3, now falls on a handful of levels.", "min/max 校准会把网格拉伸到它见到的最大值。把一个 N(0, 1) 张量中千分之一的数值换成 ±50，步长就会变大约十二倍：绝大部分数值都在 ±3 以内，现在只落在寥寥几个级别上。";
        OutliersP2 => "Percentile calibration ignores the extreme tail; the histogram (L2), entropy (KL) and MSE observers choose the clipping range that costs least error, accepting a little clipping error for much less rounding error. Compare the MSE split readout: clipping against rounding.", "百分位校准忽略极端的尾部；直方图（L2）、熵（KL）与 MSE 观察器选择误差最小的截断范围，以少量截断误差换取小得多的舍入误差。请对比 MSE 拆分读数：截断与舍入。";
        OutliersPreset1 => "Min/max with outliers", "有离群值时的 min/max";
        OutliersPreset2 => "Percentile 99.9", "百分位 99.9";
        OutliersPreset3 => "MSE-optimal clipping", "MSE 最优截断";
        EmaTitle => "Moving average against min/max during calibration", "校准中的滑动平均与 min/max";
        EmaP1 => "Calibration feeds an observer a few batches. MinMax keeps the widest range it has ever seen; MovingAverageMinMax moves a fraction c of the way from its range to each new batch's (min += c·(batch_min − min)), which is what PyTorch uses for activations during QAT (c = 0.01).", "校准时给观察器输入几个批次。MinMax 保留它见过的最宽范围；MovingAverageMinMax 每次从自己的范围朝新批次的范围移动 c 的比例（min += c·(batch_min − min)），这正是 PyTorch 在 QAT 中对激活值所用的方式（c = 0.01）。";
        EmaP2 => "Play the observer dynamics of a drifting stream: MinMax is set by the widest batch for good, the moving average lags behind and forgets. Raise c while it plays and it follows each batch.", "播放一个漂移数据流的观察器动态：MinMax 被最宽的那个批次永久决定，滑动平均则滞后并逐渐遗忘。播放时调大 c，它就会紧跟每个批次。";
        EmaPreset1 => "A stream that widens 4× over 40 batches", "一个在 40 个批次中变宽 4 倍的数据流";
        PerChannelP1 => "Folding batch norm into a convolution scales each output channel's weights by γ/√(var + ε). In MobileNet's depthwise layers those factors differ widely, and channel ranges can differ 100×. One grid for the whole tensor is then far too coarse for the narrow channels: they round to a few levels, or to zero.", "把批归一化折叠进卷积，会把每个输出通道的权重乘以 γ/√(var + ε)。在 MobileNet 的逐深度卷积层中，这些系数差别很大，各通道的范围可能相差 100 倍。整个张量只用一个网格，对窄的通道就太粗了：它们只被舍入到少数几个级别，甚至被舍入为零。";
        PerChannelP2 => "Per-channel quantization gives each channel its own scale and zero point. The per-channel view shows every channel's range against the shared clip range, and the SQNR of both choices. Open an ONNX model with “fold batch norm” to see it on real weights: the layer browser flags them.", "逐通道量化给每个通道各自的缩放因子与零点。逐通道视图展示每个通道的范围与共享截断范围的对比，以及两种选择的 SQNR。用“折叠批归一化”打开一个 ONNX 模型，就能在真实权重上看到这一点：层浏览器会标出这些张量。";
        PerChannelPreset1 => "32 channels, 100× apart, per tensor", "32 个通道，相差 100 倍，逐张量";
        PerChannelPreset2 => "The same, per channel", "同样的数据，逐通道";
        BitsTitle => "Bits against error: about 6 dB per bit", "位数与误差：每位约 6 dB";
        BitsP1 => "Each bit halves the step s, which quarters the rounding noise s²/12: SQNR grows by 10·log10(4) ≈ 6.02 dB per bit. For uniform full-scale data on 2^b levels that include the ends, SQNR = 20·log10(2^b − 1) ≈ 6.02·b dB (48.1 dB at 8 bits); the table below is measured live by the engine on 20 000 values.", "每多一位，步长 s 减半，舍入噪声 s²/12 变为四分之一：SQNR 每位增加 10·log10(4) ≈ 6.02 dB。对于在包含两端的 2^b 个级别上满量程均匀分布的数据，SQNR = 20·log10(2^b − 1) ≈ 6.02·b dB（8 位时为 48.1 dB）；下表由引擎在 20 000 个数值上实时测得。";
        BitsP2 => "The rule breaks where rounding noise is not what limits: with few bits a Gaussian's optimal grid clips its tails (clipping error dominates), with outliers min/max wastes levels, and per tensor the narrow channels lose whatever the bits buy.", "当限制因素不是舍入噪声时，这条规律就不成立了：位数很少时，高斯分布的最优网格会截断其尾部（截断误差占主导）；有离群值时，min/max 会浪费级别；逐张量量化时，窄的通道得不到多出的位数带来的好处。";
        BitsPreset1 => "Uniform data at 4 bits", "4 位的均匀分布数据";
        BitsPreset2 => "A Gaussian at 3 bits, MSE-optimal", "3 位的高斯分布，MSE 最优";
        PtqQatP1 => "Post-training quantization calibrates ranges on a little data and converts a trained FP32 model to integers: cheap, and close to FP32 at 8 bits. At 4 bits and below, on small models and with outliers, it loses accuracy.", "训练后量化（PTQ）在少量数据上校准范围，把训练好的 FP32 模型转换为整数：代价很小，8 位时接近 FP32。在 4 位及以下、在小模型上以及有离群值时，它会损失准确率。";
        PtqQatP2 => "Quantization-aware training puts fake-quantize nodes (quantize then dequantize) on weights and activations and fine-tunes through them with a straight-through estimator, so that training lowers the loss of the rounded model, not of the float one.", "量化感知训练（QAT）在权重和激活值上插入伪量化节点（先量化再反量化），并借助直通估计器（straight-through estimator）穿过这些节点进行微调，使训练降低的是舍入后模型的损失，而不是浮点模型的损失。";
        PtqQatP3 => "What the Lab shows with the 64-128-128-10 MLP on the digits (seed 0): FP32 97.6%. At W8A8, PTQ keeps 97.8%: 256 levels leave rounding noise far below what the network cares about. At W4A4, PTQ drops to 96.5% and QAT recovers 97.6%. At W2A4 PTQ falls to about 91% and at W2A2 to 65%, while QAT holds 97% and 83%: with four weight levels, rounding moves most weights by a large share of their size, and only training through that rounding lets the other weights compensate. (A PyTorch reference run of the same MLP: FP32 96.9%, W4A4 93.8 / 96.2%, W2A4 10 / 78%: the same shape.)", "实验室用手写数字上的 64-128-128-10 MLP（种子 0）展示的结果：FP32 为 97.6%。W8A8 时，PTQ 保持 97.8%：256 个级别使舍入噪声远低于网络在意的程度。W4A4 时，PTQ 降到 96.5%，QAT 恢复到 97.6%。W2A4 时 PTQ 降到约 91%，W2A2 时降到 65%，而 QAT 保持 97% 和 83%：只有四个权重级别时，舍入会把大多数权重移动其大小的很大一部分，只有穿过这种舍入进行训练，才能让其他权重加以补偿。（同一 MLP 的 PyTorch 参考运行：FP32 96.9%，W4A4 93.8 / 96.2%，W2A4 10 / 78%：趋势相同。）";
        PtqQatP4 => "Each integer model runs with integers only (uint8 activations, int8 weights, int32 accumulators and biases, a fixed-point multiplier and shift per output) and the Lab checks it against the fake-quantized simulation sample by sample. Run the sweep to see accuracy against bit width. The Lab's weight histograms show what QAT did to the weights: on the digits MLP they move by a fraction of a step, and about a fifth lie within a tenth of a step of a grid point before QAT and after (what chance gives). QAT does not pull them onto the grid; it changes the integer code of a few of them (about 3% at W2A4, 7 to 14% at W4A4) and lets every other weight adjust to the rounding, and that recovers six points of accuracy at W2A4. Open any layer in the Explorer to look closer.", "每个整数模型只用整数运行（uint8 激活值、int8 权重、int32 累加器与偏置，每个输出一个定点乘数与移位），实验室逐个样本地把它与伪量化模拟进行核对。运行扫描可以看到准确率随位宽的变化。实验室的权重直方图展示了 QAT 对权重做了什么：在手写数字 MLP 上，权重只移动一个步长的几分之一，QAT 前后都约有五分之一的权重位于距网格点十分之一步长以内（这正是随机情况下的比例）。QAT 并没有把权重拉到网格上；它改变了少数权重的整数码（W2A4 时约 3%，W4A4 时 7% 到 14%），并让其他所有权重适应舍入，这在 W2A4 时挽回了六个百分点的准确率。在探索视图中打开任意一层可以细看。";
        PtqQatP5 => "The Lab's CNN adds batch norm. PTQ folds it into the convolutions first (W' = W·γ/σ, b' = β − μ·γ/σ), so the weights it quantizes are the folded ones. QAT trains through the fold as PyTorch's ConvBn2d does: it scales the weights by γ/σ before fake-quantizing them, so training sees the grid the integer model will use, and it can freeze batch norm's statistics after a few epochs (Jacob et al. §3.2). On the digits (seed 0, 8 and 16 channels) FP32 reaches 99.1%; at W8A8 PTQ keeps 99.1%; at W2A4 PTQ falls to 59% per tensor and 56% per channel, and QAT recovers 81% per tensor but 96% per channel: with four weight levels, a grid per channel is what lets training recover. Here the folded depthwise channels differ only 2.6× in range; in MobileNet they can differ 100×, and then per-channel weights matter at 8 bits too (the per-channel lesson).", "实验室的 CNN 加入了批归一化。PTQ 先把它折叠进卷积（W' = W·γ/σ，b' = β − μ·γ/σ），所以被量化的是折叠后的权重。QAT 像 PyTorch 的 ConvBn2d 那样穿过折叠进行训练：先把权重乘以 γ/σ 再做伪量化，使训练看到的正是整数模型将使用的网格，并且可以在几轮之后冻结批归一化的统计量（Jacob et al. §3.2）。在手写数字上（种子 0，8 和 16 个通道），FP32 达到 99.1%；W8A8 时 PTQ 保持 99.1%；W2A4 时 PTQ 逐张量降到 59%、逐通道降到 56%，而 QAT 逐张量恢复到 81%、逐通道恢复到 96%：只有四个权重级别时，逐通道的网格才使训练得以恢复。这里折叠后的逐深度卷积通道范围只相差 2.6 倍；在 MobileNet 中可能相差 100 倍，那时即使在 8 位下逐通道权重也很重要（见逐通道一课）。";
        PtqQatPreset1 => "W4A4 on the digits", "手写数字上的 W4A4";
        PtqQatPreset2 => "The CNN at W2A4, per channel", "W2A4 的 CNN，逐通道";
        PtqQatPreset3 => "W2A2: where PTQ breaks", "W2A2：PTQ 失效之处";
        PtqQatPreset4 => "Decision regions at 3 bits", "3 位时的决策区域";
        RealModelTitle => "Calibrating and quantizing a real model", "校准并量化一个真实模型";
        RealModelP1 => "Weights are in the file; activations are not. Their ranges exist only when the model runs, so a converter feeds it a few batches of real data and lets an observer watch every layer's output: that is calibration. With too little data, or data unlike what the model will meet, the ranges are wrong, and every later layer inherits the error.", "权重在文件里，激活值却不在。它们的范围只有在模型运行时才存在，所以转换器会给模型喂几批真实数据，让观察器盯住每一层的输出：这就是校准。数据太少，或者与模型将来遇到的数据不同，范围就会出错，后面的每一层都会继承这个误差。";
        RealModelP2 => "MinMax keeps the widest range any batch showed: one unusual batch widens the grid for good. The moving average (EMA) follows the batches with a constant c, each new range moving it c of the way, so one odd batch costs little, but the first batches are forgotten. The Model view calibrates every activation of a real ONNX model with either, batch by batch, and lists the ranges in graph order.", "MinMax 保留任何一批出现过的最宽范围：一批异常数据就会永久撑宽网格。滑动平均（EMA）以常数 c 跟随各批数据，每个新范围把它推动 c 的比例，所以单独一批异常数据影响很小，但最早的批次会被遗忘。模型视图会用其中任一种观察器逐批校准真实 ONNX 模型的每一个激活值，并按计算图顺序列出范围。";
        RealModelP3 => "Per-tensor weights break where batch norm was folded: each output channel's weights are scaled by its own γ/σ, and depthwise layers end up with channel ranges 100× apart. One scale for the whole tensor then leaves the narrow channels a handful of codes. The Model view runs PTQ per tensor and per channel side by side, layer by layer, and names the layer that costs most. The presets train a small network in the Lab and open it there as an ONNX file, with the test digits and their labels.", "逐张量量化的权重会在折叠了批归一化的地方失效：每个输出通道的权重都乘上了各自的 γ/σ，深度可分离卷积层的各通道范围会相差 100 倍。整个张量只用一个缩放因子时，范围窄的通道只剩寥寥几个量化码。模型视图逐层并排运行逐张量与逐通道的 PTQ，并指出代价最大的那一层。下面的预设会在实验室里训练一个小网络，再把它连同测试数字及其标签作为 ONNX 文件在模型视图中打开。";
        RealModelPreset1 => "Train a small CNN on the digits and open it in the Model view", "在数字数据上训练一个小 CNN 并在模型视图中打开";
        RealModelPreset2 => "The same with an MLP", "换成 MLP 再来一次";
        RealModelPreset3 => "MinMax against EMA over drifting batches (Explorer)", "漂移批次上的 MinMax 与 EMA 对比（探索器）";
        ScaleP1 => "Affine quantization maps a real range [a, b] onto the integers [qmin, qmax] with a scale s and a zero point z chosen so that 0.0 is exactly representable (zero padding and ReLU produce many exact zeros). Move r below and follow it through each formula, with the engine's numbers.", "仿射（affine）量化用缩放因子 s 和零点 z 把实数范围 [a, b] 映射到整数 [qmin, qmax]，z 的选择使 0.0 能被精确表示（零填充和 ReLU 会产生许多精确的零）。移动下面的 r，用引擎算出的数值，沿着每个公式跟踪它。";
        ScaleP2 => "The seed paper writes the same quantizer as q(r; a, b, n) = round((clamp(r; a, b) − a)/s)·s + a over n levels, after nudging [a, b] so that 0 falls on the grid (Jacob et al. 2018, eq. 12).", "原始论文把同一个量化器写作 q(r; a, b, n) = round((clamp(r; a, b) − a)/s)·s + a，共 n 个级别，并先微调 [a, b] 使 0 落在网格上（Jacob et al. 2018，公式 12）。";
        ScalePreset1 => "Three bits in the Explorer", "在探索视图中看 3 位";
        LessonsLabel => "Lessons", "课程";
        InputA => "a (min)", "a (min)";
        InputB => "b (max)", "b (max)";
        BitsSlider => "bits {0}", "位数 {0}";
        BlockScale => "scale", "缩放因子";
        BlockZeroPoint => "zero point", "零点";
        BlockQuantize => "quantize", "量化";
        BlockDequantize => "dequantize", "反量化";
        BlockSeedForm => "the seed paper's form", "原始论文的形式";
        ErrorSymbol => "error", "误差";
        Nudged => "Nudged so that 0 is on the grid: [a, b] = [{0}, {1}], s = {2}, n = {3} levels. The two forms agree except on exact ties: rounding half to even before adding an odd zero point (PyTorch) and after (the paper's form) can pick different neighbours.", "微调使 0 落在网格上：[a, b] = [{0}, {1}]，s = {2}，n = {3} 个级别。两种形式只在恰好处于中点时不一致：在加上奇数零点之前（PyTorch）与之后（论文的形式）做“四舍六入五成双”，可能选到不同的相邻值。";
        BitsColumn => "bits", "位数";
        SqnrMeasured => "SQNR (dB), measured", "SQNR (dB)，实测";
    }
}
