//! The shell's texts: header, notices, About, the panic banner and the worker's failures, and
//! what the URL parser says of a link it could not use.

texts! {
    /// The shell and the URL state.
    pub enum ShellText {
        Tagline => "see what quantization does to a tensor", "看清量化对张量做了什么";
        ViewsLabel => "Views", "视图";
        CopyLink => "Copy link", "复制链接";
        CopyLinkTitle => "Copy a link to this view: every setting is in it", "复制指向此视图的链接：所有设置都在其中";
        LinkCopied => "Link copied", "链接已复制";
        CopyRefused => "Copying was not allowed: copy the address bar", "浏览器不允许复制：请复制地址栏";
        About => "About", "关于";
        Language => "Language", "语言";
        Dismiss => "Dismiss", "关闭";
        DismissNotice => "Dismiss notice", "关闭提示";
        Notice => "Some settings in the link could not be used and were reset to defaults: {0}.", "链接中的部分设置无法使用，已恢复为默认值：{0}。";
        ProblemPart => "“{0}”: {1}", "“{0}”：{1}";
        NotAPair => "not a key=value pair", "不是 key=value 的形式";
        UnknownSetting => "unknown setting", "未知的设置";
        RepeatedSetting => "repeated setting (the first one is used)", "重复的设置（使用第一个）";
        UsingDefault => "{0}; using the default", "{0}；使用默认值";
        ExpectWhole => "expected a whole number from {0} to {1}", "应为 {0} 到 {1} 之间的整数";
        ExpectRange => "expected {0} from {1} to {2}", "应为 {1} 到 {2} 之间的{0}";
        OrAuto => "{0}, or auto", "{0}，或 auto";
        ExpectName => "expected a %-encoded UTF-8 name", "应为 %-编码的 UTF-8 名称";
        NameTooLong => "expected a name of at most {0} characters", "名称最多 {0} 个字符";
        ExpectBool => "expected 0 or 1", "应为 0 或 1";
        ExpectOneOf => "expected one of {0}", "应为以下之一：{0}";
        ExpectAboveZero => "expected {0} above 0, at most {1}", "应为大于 0、至多 {1} 的{0}";
        ExpectScaleOrAuto => "expected a scale above 0, or auto", "应为大于 0 的尺度，或 auto";
        ExpectChannels => "expected two channel counts from 1 to 256, comma-separated", "应为两个 1 到 256 之间的通道数，以逗号分隔";
        ExpectWidths => "expected 1 to 4 layer widths from 1 to 4096, comma-separated", "应为 1 到 4 个 1 到 4096 之间的层宽，以逗号分隔";
        WhatLocation => "a location", "位置";
        WhatScale => "a scale", "尺度";
        WhatDof => "degrees of freedom", "自由度";
        WhatSeparation => "a separation", "间距";
        WhatRatio => "a ratio", "比值";
        WhatFraction => "a fraction", "比例";
        WhatMagnitude => "a magnitude", "幅度";
        WhatAveraging => "an averaging constant", "平均常数";
        WhatPercentile => "a percentile", "百分位";
        WhatDrift => "a drift", "漂移量";
        WhatZoom => "a zoom", "缩放倍数";
        WhatValue => "a value", "数值";
        WhatLearningRate => "a learning rate", "学习率";
        WhatNoise => "a noise level", "噪声水平";
        AboutTitle => "About QuantScope", "关于 QuantScope";
        Close => "Close", "关闭";
        AboutText => "QuantScope shows what quantization does to a tensor: scales, zero points, clipping and rounding error, and how post-training quantization (PTQ) and quantization-aware training (QAT) compare. Everything runs in your browser; nothing you load leaves it, and the app makes no network request except for its own files.",
            "QuantScope 展示量化对张量做了什么：缩放因子（scale）、零点（zero point）、截断误差与舍入误差，以及训练后量化（PTQ）与量化感知训练（QAT）的对比。一切都在你的浏览器中运行；你载入的任何内容都不会离开浏览器，除了应用自身的文件，它不发出任何网络请求。";
        AboutBenchBefore => "How fast is it here? ", "在这台机器上有多快？";
        AboutBenchLink => "Run the benchmarks in this browser", "在此浏览器中运行基准测试";
        AboutBenchAfter => " (the engine in WebAssembly beside plain JavaScript).", "（WebAssembly 引擎与纯 JavaScript 对比）。";
        BuiltWith => "Built with", "构建所用";
        Attributions => "Attributions", "致谢与出处";
        AttributionPaper => "Quantization scheme: B. Jacob et al., “Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference”, CVPR 2018 (arXiv:1712.05877). Observer semantics follow PyTorch’s torch.ao.quantization.",
            "量化方案：B. Jacob et al.，“Quantization and Training of Neural Networks for Efficient Integer-Arithmetic-Only Inference”，CVPR 2018（arXiv:1712.05877）。观察器（observer）的语义与 PyTorch 的 torch.ao.quantization 一致。";
        AttributionDigits => "Digits data: “Optical Recognition of Handwritten Digits”, E. Alpaydin and C. Kaynak, UCI Machine Learning Repository, CC BY 4.0 (the copy shipped with scikit-learn).",
            "手写数字数据：“Optical Recognition of Handwritten Digits”，E. Alpaydin 与 C. Kaynak，UCI Machine Learning Repository，CC BY 4.0（随 scikit-learn 发布的副本）。";
        AttributionColours => "Colours: the colour-blind-safe palette of M. Okabe and K. Ito.", "配色：M. Okabe 与 K. Ito 的色盲友好调色板。";
        PanicBanner => "QuantScope stopped after an internal error: {0}. Reload the page to start again; your settings are kept in the link.",
            "QuantScope 因内部错误而停止：{0}。请重新加载页面；你的设置保存在链接中。";
        WorkerCannotStart => "cannot start the worker: {0}", "无法启动后台线程（worker）：{0}";
        WorkerStoppedWith => "The background worker stopped ({0}).", "后台线程已停止（{0}）。";
        WorkerStopped => "The background worker could not start or stopped.", "后台线程无法启动或已停止。";
        WorkerRestarts => "{0} The next change starts a new one.", "{0}下一次更改会启动一个新的后台线程。";
        NoDocumentBody => "the page has no body to save from", "页面没有可用于保存的主体";
        NeedsBrowser => "saving needs a browser", "保存需要在浏览器中进行";
        ListSeparator => "; ", "；";
        UnknownPanic => "an unknown panic", "未知的内部错误";
    }
}
