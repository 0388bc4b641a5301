//! The benchmark page's texts.

texts! {
    pub enum BenchText {
        KFakeQuantInplace => "fake-quantize, in place", "伪量化，原地";
        KFakeQuantInto => "fake-quantize into a new buffer", "伪量化到新缓冲区";
        KMinMax => "min / max", "min / max";
        KHistogram2048 => "histogram, 2048 bins", "直方图，2048 个分箱";
        KAnalysis => "full per-tensor analysis (observer, qparams, fake-quant, metrics, histograms)", "完整的逐张量分析（观察器、量化参数、伪量化、指标、直方图）";
        KAnalysisSummary => "of which: summary (min/max, mean, std)", "其中：统计摘要（min/max、均值、标准差）";
        KAnalysisMetrics => "of which: metrics and code histogram", "其中：指标与整数码直方图";
        KAnalysisHistogram => "of which: one 256-bin histogram", "其中：一个 256 分箱的直方图";
        KL2Search => "HistogramObserver L2 search", "HistogramObserver 的 L2 搜索";
        KRedraw1m => "Explorer redraw after a setting changes: the view again (the tensor's summary kept) + every chart drawn (1M values)", "设置改变后探索视图的重绘：重新计算视图（保留张量的统计摘要）并绘制所有图表（1M 个数值）";
        KRedraw10m => "Explorer redraw after a setting changes: the view again (the tensor's summary kept) + every chart drawn (10M values)", "设置改变后探索视图的重绘：重新计算视图（保留张量的统计摘要）并绘制所有图表（10M 个数值）";
        KL2ObserveSearch => "HistogramObserver observe + L2 search", "HistogramObserver 观察 + L2 搜索";
        KLabMlpFp32 => "Lab: one FP32 epoch of the 64-128-128-10 MLP, 1,346 digits, batch 64, Adam", "实验室：64-128-128-10 MLP 的一轮 FP32 训练，1,346 个数字，批大小 64，Adam";
        KLabMlpQat => "Lab: one QAT epoch of the same MLP (W4A4, EMA observers)", "实验室：同一 MLP 的一轮 QAT（W4A4，EMA 观察器）";
        KLabMlpInt => "Lab: the integer MLP over all 1,797 digits", "实验室：整数 MLP 遍历全部 1,797 个数字";
        KLabCnnFp32 => "Lab: one FP32 epoch of the CNN (8, 16 channels)", "实验室：CNN（8、16 个通道）的一轮 FP32 训练";
        KLabCnnQat => "Lab: one QAT epoch of the CNN (W4A4)", "实验室：CNN 的一轮 QAT（W4A4）";
        KLabCnnInt => "Lab: the integer CNN over all 1,797 digits", "实验室：整数 CNN 遍历全部 1,797 个数字";
        KSetMinMax => "Explorer setting from scratch, as the worker runs it: min/max", "探索视图从零计算一个设置（在后台线程中）：min/max";
        KSetPercentile => "Explorer setting from scratch: percentile", "探索视图从零计算一个设置：百分位";
        KSetHistogram => "Explorer setting from scratch: histogram, 65,536 bins", "探索视图从零计算一个设置：直方图，65,536 个分箱";
        KSetChannels => "Explorer setting from scratch: per channel, 1,024 channels", "探索视图从零计算一个设置：逐通道，1,024 个通道";
        KSetEntropy8192 => "Explorer setting from scratch: entropy, 8,192 bins", "探索视图从零计算一个设置：熵，8,192 个分箱";
        KSetMse => "Explorer setting from scratch: MSE", "探索视图从零计算一个设置：MSE";
        KSetEntropyOutliers => "Explorer setting from scratch: entropy, 65,536 bins, 50% outliers of 10⁶", "探索视图从零计算一个设置：熵，65,536 个分箱，50% 为 10⁶ 的离群值";
        Preparing => "Preparing data…", "正在准备数据…";
        Done => "Done.", "完成。";
        Stopped => "Stopped: {0}", "已停止：{0}";
        At10m => "(at 10M)", "（10M 时）";
        At16m => "(at 16M)", "（16M 时）";
        Yes => "yes", "是";
        No => "NO", "否";
        Kernel => "Kernel", "计算核";
        Values => "Values", "数值个数";
        WasmMs => "wasm ms, best (median)", "wasm ms，最佳（中位数）";
        JsMs => "plain JS ms, best (median)", "纯 JS ms，最佳（中位数）";
        TargetMs => "Target ms", "目标 ms";
        SameResult => "Same result", "结果相同";
        Title => "Benchmarks in this browser", "在此浏览器中的基准测试";
        IntroBefore => "The engine's hot kernels run here in WebAssembly (SIMD128), beside plain JavaScript versions of the same kernels on the same data, with a check that both give the same numbers. One warm-up run, then the best and the median of several. Nothing leaves the page. The figures in docs/benchmarks.md come from this page run headless by ", "引擎的热点计算核在这里以 WebAssembly（SIMD128）运行，旁边是同样计算核的纯 JavaScript 版本，使用相同的数据，并检查两者给出相同的数值。先预热一次，再取多次运行的最佳值与中位数。任何数据都不会离开页面。docs/benchmarks.md 中的数字来自由 ";
        IntroAfter => ", with the native and NumPy figures of the same session.", " 以无头方式运行的此页面，以及同一次运行中的原生与 NumPy 数字。";
        Size => "Size", "规模";
        Full => "Full: 16M values (the targets’ size)", "完整：16M 个数值（目标所用的规模）";
        Quick => "Quick: 1M values", "快速：1M 个数值";
        Run => "Run benchmarks", "运行基准测试";
        Json => "Results as JSON", "JSON 格式的结果";
        Running => "Running {0} ({1}/{2})…", "正在运行 {0}（{1}/{2}）…";
        PageClosed => "the page was closed", "页面已关闭";
        JsFailed => "the JavaScript kernels (bench.js) failed: {0}", "JavaScript 计算核（bench.js）出错：{0}";
    }
}
