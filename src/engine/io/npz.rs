//! NumPy's `.npz`: a zip archive of `.npy` files (stored or deflated), one tensor per member.

use std::io::{Cursor, Read};

use super::{npy, LoadError};
use crate::engine::tensor::Tensor;

/// Largest member accepted, uncompressed: guards against zip bombs.
const MAX_MEMBER: u64 = 4 << 30;

/// Reads every `.npy` member of the archive, named by its path without `.npy`.
pub fn read(file: &str, bytes: &[u8]) -> Result<Vec<Tensor>, LoadError> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| LoadError::new(file, None, format!("not a valid .npz (zip) archive: {e}")))?;
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).map_err(|e| LoadError::new(file, None, format!("archive member {i}: {e}")))?;
        let path = member.name().map_err(|e| LoadError::new(file, None, format!("archive member {i} has a bad name: {e}")))?.to_string();
        let Some(name) = path.strip_suffix(".npy") else { continue };
        let size = member.size();
        if size > MAX_MEMBER {
            return Err(LoadError::new(file, Some(name), format!("member is {size} bytes uncompressed, over the limit")));
        }
        // Read no more than the member claims (plus one byte, to notice a lie).
        let mut data = Vec::with_capacity(size.min(bytes.len() as u64 * 1032) as usize);
        (&mut member)
            .take(size + 1)
            .read_to_end(&mut data)
            .map_err(|e| LoadError::new(file, Some(name), format!("cannot decompress: {e}")))?;
        out.push(npy::read(file, name, &data)?);
    }
    if out.is_empty() {
        return Err(LoadError::new(file, None, "the archive holds no .npy arrays"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn archive(members: &[(&str, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
        let mut buf = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut buf);
            let opts = zip::write::SimpleFileOptions::default().compression_method(method);
            for (name, data) in members {
                w.start_file(*name, opts).unwrap();
                w.write_all(data).unwrap();
            }
            w.finish().unwrap();
        }
        buf.into_inner()
    }

    #[test]
    fn reads_stored_and_deflated_members() {
        let a = npy::write_f32(&[2], &[1.0, 2.0]);
        let b = npy::write_f32(&[1, 1], &[3.0]);
        for method in [zip::CompressionMethod::Stored, zip::CompressionMethod::Deflated] {
            let z = archive(&[("a.npy", a.clone()), ("layer/b.npy", b.clone()), ("readme.txt", b"x".to_vec())], method);
            let ts = read("w.npz", &z).unwrap();
            assert_eq!(ts.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "layer/b"]);
            assert_eq!(ts[1].data, vec![3.0]);
        }
    }

    #[test]
    fn bad_archives_are_described() {
        assert!(read("w.npz", b"PK\x03\x04junk").unwrap_err().problem.contains("not a valid .npz"));
        let z = archive(&[("readme.txt", b"x".to_vec())], zip::CompressionMethod::Stored);
        assert!(read("w.npz", &z).unwrap_err().problem.contains("no .npy"));
        let z = archive(&[("bad.npy", b"\x93NUMPY nope".to_vec())], zip::CompressionMethod::Stored);
        let e = read("w.npz", &z).unwrap_err();
        assert_eq!(e.tensor.as_deref(), Some("bad"));
    }
}
