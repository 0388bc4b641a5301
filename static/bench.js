// Plain-JavaScript versions of the engine's hot kernels, for the in-browser benchmark page
// (#view=bench): the comparison the issue asks for. Written as a careful JS programmer would:
// typed arrays, one pass, no allocation in the loop, Math.fround where the Rust kernel works
// in f32, so that both compute the same numbers (the page checks that they agree).
"use strict";

globalThis.quantscopeBench = {
  // x ← (clamp(round(x·inv), lo, hi))·scale in place, rounding half to even (as torch.round).
  // lo/hi are qmin − z and qmax − z, as in the engine's kernel.
  fakeQuantizeInPlace(x, invScale, scale, lo, hi) {
    const MAGIC = 12582912; // 1.5·2^23: adding and subtracting it rounds an f32 half to even
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      let y = Math.fround(v * invScale);
      y = y > lo ? y : lo;
      y = y < hi ? y : hi;
      y = Math.fround(Math.fround(y + MAGIC) - MAGIC);
      // NaN stays NaN (x̂ of an undefined value is undefined).
      x[i] = v === v ? y * scale : v;
    }
  },

  // [min, max] of the values (NaN skipped, as the comparisons do).
  minMax(x) {
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    return [lo, hi];
  },

  // Counts in `bins` equal bins over [lo, hi] (a value equal to hi in the last bin), then the
  // counts below, above and of non-finite values: the engine's Histogram::new.
  histogram(x, lo, hi, bins) {
    const perUnit = Math.fround(bins / (hi - lo));
    const last = bins - 1;
    const counts = new Uint32Array(bins + 3);
    for (let i = 0; i < x.length; i++) {
      const v = x[i];
      if (v >= lo && v <= hi) {
        const t = Math.fround(Math.fround(v - lo) * perUnit) | 0;
        counts[t < last ? t : last]++;
      } else if (v - v !== 0) {
        counts[bins + 2]++; // NaN or ±∞
      } else if (v < lo) {
        counts[bins]++;
      } else {
        counts[bins + 1]++;
      }
    }
    return counts;
  },

  // onnxruntime-web on a model, when the page has it (scripts/bench adds ort.wasm.min.js to the
  // benchmark page; the app never loads it): its wasm backend on one thread, one warm-up run,
  // then `runs` timed ones, in ms. `arrays` is [[name, dims, Float32Array], …]; one array feeds
  // a one-input model whatever its name. Resolves to null without onnxruntime-web.
  async ortRun(model, arrays, runs) {
    const ort = globalThis.ort;
    if (!ort) return null;
    ort.env.wasm.numThreads = 1;
    const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
    try {
      const feeds = {};
      for (const [name, dims, data] of arrays) {
        feeds[arrays.length === 1 ? session.inputNames[0] : name] = new ort.Tensor("float32", data, dims);
      }
      await session.run(feeds);
      const times = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        await session.run(feeds);
        times.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 0)); // let the page paint between runs
      }
      return times;
    } finally {
      await session.release();
    }
  },
};
