//! The charts' titles, axes and legends.

texts! {
    pub enum ChartText {
        SavePngTitle => "Save this chart as a PNG image", "把此图表保存为 PNG 图像";
        ChannelsCaption => "{0} channels{1} · widest ÷ narrowest range {2}", "{0} 个通道{1} · 最宽 ÷ 最窄范围 {2}";
        NarrowestFirst => ", narrowest first", "，最窄的在前";
        ChannelsByRange => "channels, by range", "通道（按范围排序）";
        Channel => "channel", "通道";
        Value => "value", "数值";
        ChannelRange => "channel range", "通道范围";
        UnderTenth => "under 1/10 of the shared range", "不到共享范围的 1/10";
        PerTensorClip => "per-tensor clip range", "逐张量截断范围";
        CodesCaption => "codes {0}…{1} · {2} of {3} levels used", "整数码 {0}…{1} · {3} 个级别中用了 {2} 个";
        IntegerCode => "integer code q", "整数码 q";
        LogCount => "log10(1 + count)", "log10(1 + 计数)";
        Count => "count", "计数";
        LevelsUsed => "{0} / {1} levels used", "用了 {0} / {1} 个级别";
        EndCodes => "end codes (hold clipped values)", "端点码（存放被截断的值）";
        ZeroPointTick => "zero point {0}", "零点 {0}";
        DynamicsCaption => "batch {0} of {1} · EMA averaging constant {2}", "第 {0} / {1} 批 · EMA 平均常数 {2}";
        Batch => "batch", "批次";
        Range => "range", "范围";
        BatchMinMax => "batch min … max", "批次 min … max";
        MinMaxRunning => "MinMax: running min/max", "MinMax：累计 min/max";
        MovingAverage => "moving average (EMA)", "滑动平均（EMA）";
        ErrorCaption => "error x̂ − x · rounding error within ±{0}", "误差 x̂ − x · 舍入误差在 ±{0} 以内";
        RoundingError => "rounding error", "舍入误差";
        ClippingError => "clipping error", "截断误差";
        ValueX => "value x", "数值 x";
        ErrorByValueCaption => "error against x", "误差随 x 的变化";
        InsideClip => "inside the clip range", "截断范围之内";
        Clipped => "clipped", "被截断";
        RoundingBound => "± {0} (rounding)", "± {0}（舍入）";
        HistogramPerChannel => "{0} levels · {1} channels, each with its own scale and zero point", "{0} 个级别 · {1} 个通道，各有自己的缩放因子与零点";
        HistogramCaption => "{0} levels · scale {1} · zero point {2}", "{0} 个级别 · 缩放因子 {1} · 零点 {2}";
        GridLevels => "grid: {0} levels", "网格：{0} 个级别";
        GridWhy => "grid: {0} levels ({1})", "网格：{0} 个级别（{1}）";
        OneGridPerChannel => "one grid per channel", "每个通道一个网格";
        TooDense => "too dense to draw", "太密，无法绘制";
        Values => "values", "数值";
        ClippedValues => "clipped values", "被截断的数值";
        ClipRangeDrag => "clip range [{0}, {1}] (drag its ends)", "截断范围 [{0}, {1}]（可拖动两端）";
        PtqInteger => "PTQ, integer", "PTQ，整数";
        QatInteger => "QAT, integer", "QAT，整数";
        MisclassifiedShown => "{0} ({1} misclassified shown)", "{0}（显示 {1} 个分错的）";
        WeightFolded => "weight (batch norm folded)", "权重（批归一化已折叠）";
        Bits => "bits", "位数";
        SqnrDb => "SQNR (dB)", "SQNR (dB)";
        SqnrCaption => "SQNR against bit width, every observer", "SQNR 随位宽的变化，每种观察器";
        ClipCurveCaption => "MSE against the clipping range at {0} bits (1 = the full data range)", "{0} 位时 MSE 随截断范围的变化（1 = 数据的完整范围）";
        ClipRatio => "clip ratio t", "截断比例 t";
        MseLog => "MSE (log scale)", "MSE（对数刻度）";
        MseAtRatio => "MSE at ratio t", "比例 t 处的 MSE";
        EpochAxis => "epoch (FP32, then QAT)", "轮次（先 FP32，后 QAT）";
        TestAccuracy => "test accuracy", "测试准确率";
        TestAccuracyCaption => "test accuracy after each epoch", "每轮之后的测试准确率";
        Fp32Training => "FP32 training", "FP32 训练";
        QatFakeQuant => "QAT (fake-quantized)", "QAT（伪量化）";
        TransferCaption => "transfer function x → x̂ · step {0}", "传递函数 x → x̂ · 步长 {0}";
        OneStepPerLevel => "x̂ (one step per level)", "x̂（每个级别一级台阶）";
        StepsTooFine => "x̂ (steps too fine to draw)", "x̂（台阶太细，无法绘制）";
        ClipRange => "clip range", "截断范围";
        RegionsCaption => "{0}: {1}% of the test points", "{0}：测试点的 {1}%";
        WeightActBits => "weight and activation bits", "权重与激活值位数";
        SweepCaption => "integer models' test accuracy against bit width", "整数模型的测试准确率随位宽的变化";
    }
}
