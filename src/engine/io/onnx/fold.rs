//! Batch-norm folding on the model itself. Each BatchNormalization that reads a Conv's output,
//! as that output's only reader, with constant parameters, goes into the Conv:
//! `w' = w·γ/√(var + ε)` per output channel and `b' = (b − mean)·γ/√(var + ε) + β` (a Conv
//! without a bias gets one, named `<weight>.folded_bias`). The Conv then writes the
//! BatchNormalization's output, the BatchNormalization node goes, and so do its parameters when
//! nothing else reads them. This is what `--fold-bn` shows and what PTQ quantizes.

use std::collections::HashMap;

use super::{decode, encode_f32, GraphProto, TensorProto};
use crate::engine::io::LoadError;
use crate::engine::tensor::Tensor;

/// Where a constant lives in a graph.
#[derive(Clone, Copy)]
enum Place {
    Initializer(usize),
    /// A `Constant` node's `value` attribute.
    Constant(usize),
}

/// A graph's constants by name: its initializers and its Constant nodes' outputs.
pub(crate) struct Constants {
    places: HashMap<String, Place>,
}

impl Constants {
    pub(crate) fn of(graph: &GraphProto) -> Constants {
        let mut places = HashMap::new();
        for (i, t) in graph.initializer.iter().enumerate() {
            places.insert(t.name.clone(), Place::Initializer(i));
        }
        for (i, n) in graph.node.iter().enumerate().filter(|(_, n)| n.op_type == "Constant") {
            if let Some(out) = n.output.first() {
                if n.attribute.iter().any(|a| a.name == "value" && a.t.is_some()) {
                    places.insert(out.clone(), Place::Constant(i));
                }
            }
        }
        Constants { places }
    }

    pub(crate) fn get<'g>(&self, graph: &'g GraphProto, name: &str) -> Option<&'g TensorProto> {
        match *self.places.get(name)? {
            Place::Initializer(i) => graph.initializer.get(i),
            Place::Constant(i) => graph.node.get(i)?.attribute.iter().find(|a| a.name == "value")?.t.as_ref(),
        }
    }

    /// Replaces the constant `name`'s tensor (keeping its name), or adds an initializer.
    pub(crate) fn set(&mut self, graph: &mut GraphProto, name: &str, mut tensor: TensorProto) {
        match self.places.get(name).copied() {
            Some(Place::Initializer(i)) => {
                tensor.name = name.to_string();
                graph.initializer[i] = tensor;
            }
            Some(Place::Constant(i)) => {
                tensor.name.clear();
                if let Some(a) = graph.node[i].attribute.iter_mut().find(|a| a.name == "value") {
                    a.t = Some(tensor);
                }
            }
            None => {
                tensor.name = name.to_string();
                graph.initializer.push(tensor);
                self.places.insert(name.to_string(), Place::Initializer(graph.initializer.len() - 1));
            }
        }
    }

    /// Constant `name` decoded to f32, if it is a float constant.
    pub(crate) fn values(&self, file: &str, graph: &GraphProto, name: &str) -> Result<Option<Tensor>, LoadError> {
        match self.get(graph, name) {
            Some(t) if super::is_float(t.data_type) => decode(file, name, t).map(Some),
            _ => Ok(None),
        }
    }
}

/// One folding that was done.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Folded {
    pub conv: String,
    pub batch_norm: String,
}

/// Folds every foldable BatchNormalization of `graph` (not its subgraphs) into its Conv.
pub fn fold_batch_norms(file: &str, graph: &mut GraphProto) -> Result<Vec<Folded>, LoadError> {
    let mut readers: HashMap<String, usize> = HashMap::new();
    for n in &graph.node {
        for i in n.input.iter().filter(|i| !i.is_empty()) {
            *readers.entry(i.clone()).or_default() += 1;
        }
    }
    for o in &graph.output {
        *readers.entry(o.name.clone()).or_default() += 1;
    }
    let mut constants = Constants::of(graph);
    let mut folded = Vec::new();
    let mut removed = std::collections::HashSet::new();
    let producer: HashMap<String, usize> =
        graph.node.iter().enumerate().filter(|(_, n)| n.op_type == "Conv").filter_map(|(i, n)| n.output.first().map(|o| (o.clone(), i))).collect();
    for b in 0..graph.node.len() {
        let bn = &graph.node[b]; // indexed: the loop body mutates other nodes of the graph
        if bn.op_type != "BatchNormalization" || bn.input.len() < 5 || bn.output.len() != 1 {
            continue;
        }
        let Some(&c) = producer.get(&bn.input[0]) else { continue };
        if readers.get(&bn.input[0]) != Some(&1) || graph.node[c].input.len() < 2 {
            continue;
        }
        let eps = bn.attribute.iter().find(|a| a.name == "epsilon").map_or(1e-5, |a| a.f);
        let params: Vec<Option<Vec<f32>>> = (1..5).map(|k| constants.values(file, graph, &bn.input[k]).map(|v| v.map(|t| t.data))).collect::<Result<_, _>>()?;
        let [Some(gamma), Some(beta), Some(mean), Some(var)] = <[Option<Vec<f32>>; 4]>::try_from(params).expect("four parameters") else { continue };
        let conv = &graph.node[c];
        let wname = conv.input[1].clone();
        let Some(Tensor { shape: wshape, data: mut w, .. }) = constants.values(file, graph, &wname)? else { continue };
        let out_channels = wshape.first().copied().unwrap_or(0);
        if [&gamma, &beta, &mean, &var].iter().any(|v| v.len() != out_channels) || out_channels == 0 {
            return Err(LoadError::new(file, Some(&wname), format!("batch norm “{}” has parameters that do not match the conv's {out_channels} output channels", bn.name)));
        }
        let factor: Vec<f32> = gamma.iter().zip(&var).map(|(g, v)| g / (v + eps).sqrt()).collect();
        let per = w.len() / out_channels;
        for (i, v) in w.iter_mut().enumerate() {
            *v *= factor[i / per.max(1)];
        }
        let bias_name = conv.input.get(2).filter(|b| !b.is_empty()).cloned();
        let old_bias = match &bias_name {
            Some(b) => constants.values(file, graph, b)?.map(|t| t.data).filter(|d| d.len() == out_channels),
            None => Some(vec![0.0; out_channels]),
        };
        let Some(old_bias) = old_bias else { continue };
        let bias: Vec<f32> = (0..out_channels).map(|k| (old_bias[k] - mean[k]) * factor[k] + beta[k]).collect();
        let bias_name = bias_name.unwrap_or_else(|| format!("{wname}.folded_bias"));
        constants.set(graph, &wname, encode_f32("", &wshape, &w));
        constants.set(graph, &bias_name, encode_f32("", &[out_channels], &bias));
        let bn_out = graph.node[b].output[0].clone();
        let bn_name = graph.node[b].name.clone();
        let conv = &mut graph.node[c];
        conv.input.truncate(2);
        conv.input.push(bias_name);
        conv.output[0] = bn_out;
        folded.push(Folded { conv: conv.name.clone(), batch_norm: bn_name });
        for k in 1..5 {
            let p = graph.node[b].input[k].clone();
            if let Some(r) = readers.get_mut(&p) {
                *r -= 1;
            }
        }
        removed.insert(b);
    }
    // Drop the folded nodes, and the parameters only they read.
    let mut i = 0;
    graph.node.retain(|_| {
        i += 1;
        !removed.contains(&(i - 1))
    });
    let unread = |name: &str| readers.get(name) == Some(&0);
    graph.initializer.retain(|t| !unread(&t.name));
    graph.node.retain(|n| !(n.op_type == "Constant" && n.output.first().is_some_and(|o| unread(o))));
    Ok(folded)
}
