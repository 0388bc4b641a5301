//! How messages cross between the page and the worker: a JS array whose first element is the
//! message in bincode (without its bulk data), followed by at most one bulk buffer — a tensor's
//! values (`Float32Array`) or a file's bytes (`Uint8Array`) — that is *transferred*, not
//! cloned: its one copy is out of the sender's wasm memory, and one into the receiver's.

use super::{Input, Output};
use crate::engine::tensor::Tensor;
use crate::engine::views::jobs::JobResult;

/// Bulk data carried beside a message.
#[derive(Debug, PartialEq)]
pub enum Bulk {
    F32(Vec<f32>),
    Bytes(Vec<u8>),
}

/// A message whose bulk data, if any, travels as a buffer of its own.
pub trait Carries: Sized {
    /// Takes the bulk data out (leaving the message without it).
    fn take_bulk(&mut self) -> Option<Bulk>;
    /// Puts the bulk data that arrived back in.
    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String>;
}

impl Carries for Tensor {
    fn take_bulk(&mut self) -> Option<Bulk> {
        Some(Bulk::F32(std::mem::take(&mut self.data)))
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match bulk {
            Bulk::F32(data) => {
                self.data = data;
                Ok(())
            }
            Bulk::Bytes(_) => Err(NOT_CARRIED.into()),
        }
    }
}

impl Carries for JobResult {
    fn take_bulk(&mut self) -> Option<Bulk> {
        match self {
            JobResult::Npy { bytes } => Some(Bulk::Bytes(std::mem::take(bytes))),
            _ => None,
        }
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match (self, bulk) {
            (JobResult::Npy { bytes }, Bulk::Bytes(b)) => {
                *bytes = b;
                Ok(())
            }
            _ => Err(NOT_CARRIED.into()),
        }
    }
}

const NOT_CARRIED: &str = "a message came with data it does not carry";

/// Data handed over carries its bulk.
impl<S, L: Carries> Carries for Input<S, L> {
    fn take_bulk(&mut self) -> Option<Bulk> {
        match self {
            Input::Load { data, .. } => data.take_bulk(),
            _ => None,
        }
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match self {
            Input::Load { data, .. } => data.put_bulk(bulk),
            _ => Err(NOT_CARRIED.into()),
        }
    }
}

/// A result carries its bulk.
impl<P, R: Carries> Carries for Output<P, R> {
    fn take_bulk(&mut self) -> Option<Bulk> {
        match self {
            Output::Done { result, .. } => result.take_bulk(),
            _ => None,
        }
    }

    fn put_bulk(&mut self, bulk: Bulk) -> Result<(), String> {
        match self {
            Output::Done { result, .. } => result.put_bulk(bulk),
            _ => Err(NOT_CARRIED.into()),
        }
    }
}

/// The message's head in bincode, and its bulk data.
pub fn split<T: Carries + serde::Serialize>(mut msg: T) -> Result<(Vec<u8>, Option<Bulk>), String> {
    let bulk = msg.take_bulk();
    Ok((bincode::serialize(&msg).map_err(|e| e.to_string())?, bulk))
}

/// The message again from its head and bulk data.
pub fn join<T: Carries + serde::de::DeserializeOwned>(head: &[u8], bulk: Option<Bulk>) -> Result<T, String> {
    let mut msg: T = bincode::deserialize(head).map_err(|e| format!("a malformed message: {e}"))?;
    if let Some(b) = bulk {
        msg.put_bulk(b)?;
    }
    Ok(msg)
}

/// Something that takes posted messages with a transfer list: the worker, or the worker's scope.
#[cfg(target_arch = "wasm32")]
pub trait Postable {
    fn post(&self, message: &wasm_bindgen::JsValue, transfer: &wasm_bindgen::JsValue) -> Result<(), wasm_bindgen::JsValue>;
}

#[cfg(target_arch = "wasm32")]
impl Postable for web_sys::Worker {
    fn post(&self, message: &wasm_bindgen::JsValue, transfer: &wasm_bindgen::JsValue) -> Result<(), wasm_bindgen::JsValue> {
        self.post_message_with_transfer(message, transfer)
    }
}

#[cfg(target_arch = "wasm32")]
impl Postable for web_sys::DedicatedWorkerGlobalScope {
    fn post(&self, message: &wasm_bindgen::JsValue, transfer: &wasm_bindgen::JsValue) -> Result<(), wasm_bindgen::JsValue> {
        self.post_message_with_transfer(message, transfer)
    }
}

/// Posts `msg` to `target`, its bulk data transferred.
#[cfg(target_arch = "wasm32")]
pub fn post<T: Carries + serde::Serialize>(target: &impl Postable, msg: T) -> Result<(), String> {
    use js_sys::{Array, Float32Array, Uint8Array};
    let (head, bulk) = split(msg)?;
    let parts = Array::new();
    let transfer = Array::new();
    parts.push(&Uint8Array::from(head.as_slice()));
    match bulk {
        Some(Bulk::F32(v)) => {
            let a = Float32Array::new_with_length(v.len() as u32);
            a.copy_from(&v);
            transfer.push(&a.buffer());
            parts.push(&a);
        }
        Some(Bulk::Bytes(v)) => {
            let a = Uint8Array::new_with_length(v.len() as u32);
            a.copy_from(&v);
            transfer.push(&a.buffer());
            parts.push(&a);
        }
        None => {}
    }
    target.post(&parts, &transfer).map_err(|e| format!("cannot post a message: {e:?}"))
}

/// Reads a message posted by [`post`].
#[cfg(target_arch = "wasm32")]
pub fn receive<T: Carries + serde::de::DeserializeOwned>(data: &wasm_bindgen::JsValue) -> Result<T, String> {
    use js_sys::{Array, Float32Array, Uint8Array};
    use wasm_bindgen::JsCast;
    let parts: &Array = data.dyn_ref().ok_or("a message that is not an array")?;
    let head: Uint8Array = parts.get(0).dyn_into().map_err(|_| "a message without its head")?;
    let bulk = match parts.get(1) {
        v if v.is_undefined() => None,
        v if v.is_instance_of::<Float32Array>() => Some(Bulk::F32(Float32Array::from(v).to_vec())),
        v if v.is_instance_of::<Uint8Array>() => Some(Bulk::Bytes(Uint8Array::from(v).to_vec())),
        _ => return Err("a message with data of an unknown kind".into()),
    };
    join(&head.to_vec(), bulk)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::worker::{WorkerInput, WorkerOutput};

    #[test]
    fn bulk_data_travels_beside_the_head_and_comes_back() {
        let t = Tensor { name: "w".into(), shape: vec![3], data: vec![1.0, f32::NAN, -0.0], stored_as: "f16".into() };
        let (head, bulk) = split(WorkerInput::Load { key: 3, data: t.clone() }).unwrap();
        assert!(head.len() < 64, "the values are not in the head: {} bytes", head.len());
        let back: WorkerInput = join(&head, bulk).unwrap();
        let WorkerInput::Load { key: 3, data: tensor } = back else { panic!("{back:?}") };
        assert_eq!((tensor.name, tensor.shape, tensor.stored_as), (t.name, t.shape, t.stored_as));
        assert_eq!(tensor.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>(), t.data.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        let npy = WorkerOutput::Done { id: 1, result: JobResult::Npy { bytes: vec![1, 2, 3] } };
        let (head, bulk) = split(npy.clone()).unwrap();
        assert_eq!(join::<WorkerOutput>(&head, bulk).unwrap(), npy);
        // No bulk: the head alone; bulk where none belongs, or a broken head: an error.
        let (head, bulk) = split(WorkerOutput::Cancelled { id: 9 }).unwrap();
        assert!(bulk.is_none());
        assert!(join::<WorkerOutput>(&head, Some(Bulk::Bytes(vec![1]))).is_err());
        assert!(join::<WorkerOutput>(&[0xff; 3], None).is_err());
    }
}
