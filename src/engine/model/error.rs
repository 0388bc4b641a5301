//! What can go wrong with a model, named by file, node (with its ONNX op) or input.

use tract_onnx::prelude::TractError;

/// A model that cannot be read, built or run, or inputs that do not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    /// The file is not an ONNX model, or has no graph.
    #[error("{file}: {problem}")]
    File { file: String, problem: String },
    /// tract cannot build or run one node (an operator it does not support, a shape it cannot
    /// infer).
    #[error("{file}: node “{node}” ({op}): {problem}")]
    Node { file: String, node: String, op: String, problem: String },
    /// An input value that does not fit the model (wrong shape, NaN, missing).
    #[error("{file}: input “{input}”: {problem}")]
    Input { file: String, input: String, problem: String },
}

impl ModelError {
    pub(crate) fn file(file: &str, problem: impl Into<String>) -> ModelError {
        ModelError::File { file: file.to_string(), problem: problem.into() }
    }

    pub(crate) fn input(file: &str, input: &str, problem: impl Into<String>) -> ModelError {
        ModelError::Input { file: file.to_string(), input: input.to_string(), problem: problem.into() }
    }
}

/// Runs `f`, turning a panic inside tract (which malformed models can cause: the fuzz tests
/// found some) into an error that names the file. Where panics abort (the release builds), the
/// entry points' panic hooks report them instead.
pub(crate) fn guarded<T>(file: &str, f: impl FnOnce() -> Result<T, ModelError>) -> Result<T, ModelError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(payload) => {
            let text = payload.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| payload.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(ModelError::file(file, format!("tract failed on this model: {text}")))
        }
    }
}

/// Where in tract's error chain a node is named: `… node #12 "conv_1" ConvHir …`.
fn named_node(message: &str) -> Option<(&str, &str)> {
    let at = message.find("node #")?;
    let rest = &message[at + "node #".len()..];
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit()).strip_prefix(" \"")?;
    let (name, after) = rest.split_once('"')?;
    let op = after.split_whitespace().next().unwrap_or("");
    Some((name, op))
}

/// Turns a tract error into a [`ModelError`]: the innermost node it names (tract nests a
/// subgraph's failure inside its `If`'s), mapped back to the ONNX node and op when `onnx_op`
/// knows the name, and the root cause as the problem.
pub(crate) fn from_tract(file: &str, err: &TractError, onnx_op: impl Fn(&str) -> Option<String>) -> ModelError {
    let chain: Vec<String> = err.chain().map(|e| e.to_string()).collect();
    let root = chain.last().cloned().unwrap_or_default();
    let problem = if root.contains("can not be made a TypedOp") {
        "tract does not support this operator".to_string()
    } else {
        root.lines().next().unwrap_or("").trim().to_string()
    };
    match chain.iter().rev().find_map(|m| named_node(m)) {
        Some((name, tract_op)) => {
            // tract's own op names carry a suffix: `ConvHir`, `Squeeze13`.
            let op = onnx_op(name).unwrap_or_else(|| tract_op.trim_end_matches("Hir").trim_end_matches(|c: char| c.is_ascii_digit()).to_string());
            ModelError::Node { file: file.to_string(), node: name.to_string(), op, problem }
        }
        None => ModelError::file(file, problem),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_innermost_node_and_the_root_cause() {
        let e = tract_onnx::tract_core::internal::anyhow!("Impossible to unify Val(1) with Sym(B).")
            .context("Failed analyse for node #76 \"If_0_then/rnn/LSTM\" LSTM")
            .context("Failed analyse for node #5 \"If_0\" If");
        let m = from_tract("m.onnx", &e, |n| (n == "If_0_then/rnn/LSTM").then(|| "LSTM".to_string()));
        assert_eq!(m.to_string(), "m.onnx: node “If_0_then/rnn/LSTM” (LSTM): Impossible to unify Val(1) with Sym(B).");
        let plain = from_tract("m.onnx", &tract_onnx::tract_core::internal::anyhow!("model proto does not contain a graph"), |_| None);
        assert_eq!(plain, ModelError::file("m.onnx", "model proto does not contain a graph"));
        let unsupported = tract_onnx::tract_core::internal::anyhow!("Operator can not be made a TypedOp.").context("Translating node #3 \"weird\" Unimplemented(FooOp) ToTypedTranslator");
        let m = from_tract("m.onnx", &unsupported, |_| Some("FooOp".into()));
        assert_eq!(m.to_string(), "m.onnx: node “weird” (FooOp): tract does not support this operator");
    }
}
