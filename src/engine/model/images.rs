//! Pictures as model input: PNG and JPEG files decoded (the `image` crate), resized, centre-
//! cropped and normalised into one batch, with every step explicit and settable, as a Python
//! pipeline's `transforms` are.

pub use super::preprocess::{Layout, Preprocess, Preset};
use image::imageops::FilterType;
use image::RgbImage;

use crate::engine::tensor::Tensor;

impl Preprocess {
    /// Resizes and crops one decoded picture.
    fn geometry(&self, img: &RgbImage) -> RgbImage {
        match self.crop {
            None => image::imageops::resize(img, self.resize.1, self.resize.0, FilterType::Triangle),
            Some((ch, cw)) => {
                let short = self.resize.0 as f32;
                let k = short / img.height().min(img.width()).max(1) as f32;
                let (h, w) = (((img.height() as f32 * k).round() as u32).max(ch), ((img.width() as f32 * k).round() as u32).max(cw));
                let resized = image::imageops::resize(img, w, h, FilterType::Triangle);
                image::imageops::crop_imm(&resized, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image()
            }
        }
    }
}

/// Decodes `bytes` (a PNG or JPEG file named `file`) to RGB.
pub fn decode(file: &str, bytes: &[u8]) -> Result<RgbImage, String> {
    let img = image::load_from_memory(bytes).map_err(|e| format!("{file}: not a readable PNG or JPEG picture: {e}"))?;
    Ok(img.to_rgb8())
}

/// Decodes and preprocesses `files` (name and bytes) into one batch named `name`.
pub fn batch(name: &str, files: &[(String, Vec<u8>)], pre: &Preprocess) -> Result<Tensor, String> {
    pre.check()?;
    if files.is_empty() {
        return Err("no pictures".into());
    }
    let (h, w) = pre.output_size();
    let (h, w) = (h as usize, w as usize);
    let mut data = vec![0f32; files.len() * 3 * h * w];
    for (n, (file, bytes)) in files.iter().enumerate() {
        let img = pre.geometry(&decode(file, bytes)?);
        let out = &mut data[n * 3 * h * w..(n + 1) * 3 * h * w];
        for (y, row) in img.rows().enumerate() {
            for (x, px) in row.enumerate() {
                for c in 0..3 {
                    let source = if pre.bgr { 2 - c } else { c };
                    let v = (px.0[source] as f32 * pre.scale - pre.mean[c]) / pre.std[c];
                    let at = match pre.layout {
                        Layout::Nchw => (c * h + y) * w + x,
                        Layout::Nhwc => (y * w + x) * 3 + c,
                    };
                    out[at] = v;
                }
            }
        }
    }
    let shape = match pre.layout {
        Layout::Nchw => vec![files.len(), 3, h, w],
        Layout::Nhwc => vec![files.len(), h, w, 3],
    };
    Ok(Tensor { name: name.to_string(), shape, data, stored_as: "u8 picture".into() })
}

/// The class of each picture from where it sits: its folder's name when the pictures come from
/// several folders (`cats/1.png`), or the part of its file name before the first `_`
/// (`cat_1.png`). Classes are numbered in sorted order; `None` when a picture has no class or
/// there is only one.
pub fn labels_from_names(paths: &[String]) -> Option<(Vec<usize>, Vec<String>)> {
    let folder = |p: &str| p.rsplit_once('/').map(|(d, _)| d.rsplit('/').next().unwrap_or(d).to_string());
    let folders: Vec<Option<String>> = paths.iter().map(|p| folder(p)).collect();
    let distinct_folders: std::collections::BTreeSet<&String> = folders.iter().flatten().collect();
    let names: Vec<String> = if folders.iter().all(Option::is_some) && distinct_folders.len() > 1 {
        folders.into_iter().flatten().collect()
    } else {
        paths.iter().map(|p| p.rsplit('/').next().unwrap_or(p).split_once('_').map(|(c, _)| c.to_string()).unwrap_or_default()).collect()
    };
    if names.iter().any(String::is_empty) {
        return None;
    }
    let classes: Vec<String> = names.iter().cloned().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
    if classes.len() < 2 {
        return None;
    }
    Some((names.iter().map(|n| classes.iter().position(|c| c == n).expect("a class")).collect(), classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `w`×`h` picture whose pixel (x, y) is (10x, 10y, 7), encoded as PNG or JPEG.
    pub(crate) fn picture(w: u32, h: u32, format: image::ImageFormat) -> Vec<u8> {
        let img = RgbImage::from_fn(w, h, |x, y| image::Rgb([(10 * x) as u8, (10 * y) as u8, 7]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn pixels_land_where_the_layout_says() {
        let png = picture(6, 4, image::ImageFormat::Png);
        let files = vec![("a.png".to_string(), png.clone()), ("b.png".to_string(), png)];
        let pre = Preprocess::preset(Preset::ZeroOne, (4, 6));
        let t = batch("x", &files, &pre).unwrap();
        assert_eq!(t.shape, vec![2, 3, 4, 6]);
        let s = 1.0f32 / 255.0;
        // Sample 1, channel 0 (red = 10x), row 2, column 5: 50/255.
        assert_eq!(t.data[72 + 2 * 6 + 5], 50.0 * s);
        // Channel 1 (green = 10y) at row 3: 30/255; channel 2 is 7 everywhere.
        assert_eq!(t.data[72 + 24 + 3 * 6], 30.0 * s);
        assert_eq!(t.data[72 + 48 + 7], 7.0 * s);
        let nhwc = batch("x", &files[..1], &Preprocess { layout: Layout::Nhwc, bgr: true, ..pre.clone() }).unwrap();
        assert_eq!(nhwc.shape, vec![1, 4, 6, 3]);
        // (y=2, x=5) in BGR: [7, 20, 50].
        let at = (2 * 6 + 5) * 3;
        assert_eq!(&nhwc.data[at..at + 3], &[7.0 * s, 20.0 * s, 50.0 * s]);
        let centred = batch("x", &files[..1], &Preprocess::preset(Preset::MinusOneOne, (4, 6))).unwrap();
        assert_eq!(centred.data[0], -1.0);
    }

    #[test]
    fn imagenet_resizes_the_shorter_side_then_crops_the_centre() {
        let jpeg = picture(40, 20, image::ImageFormat::Jpeg);
        let t = batch("x", &[("p.jpg".into(), jpeg)], &Preprocess::preset(Preset::ImageNet, (224, 224))).unwrap();
        assert_eq!(t.shape, vec![1, 3, 224, 224]);
        // Blue is 7 everywhere (JPEG may move it a little): (7/255 − 0.406)/0.225 ≈ −1.68.
        let blue = t.data[2 * 224 * 224 + 100 * 224 + 100];
        assert!((blue - (7.0 / 255.0 - 0.406) / 0.225).abs() < 0.1, "{blue}");
    }

    #[test]
    fn bad_pictures_and_settings_are_named() {
        let png = picture(6, 4, image::ImageFormat::Png);
        let e = batch("x", &[("cut.png".into(), png[..png.len() / 2].to_vec())], &Preprocess::preset(Preset::ZeroOne, (4, 6))).unwrap_err();
        assert!(e.starts_with("cut.png: not a readable PNG or JPEG picture"), "{e}");
        assert!(batch("x", &[("t.txt".into(), b"hello".to_vec())], &Preprocess::preset(Preset::ZeroOne, (4, 6))).unwrap_err().starts_with("t.txt:"));
        let zero = Preprocess { std: [1.0, 0.0, 1.0], ..Preprocess::preset(Preset::ZeroOne, (4, 6)) };
        assert!(batch("x", &[("a.png".into(), png.clone())], &zero).is_err());
        assert!(batch("x", &[("a.png".into(), png)], &Preprocess::preset(Preset::ZeroOne, (0, 6))).is_err());
        assert!(batch("x", &[], &Preprocess::preset(Preset::ZeroOne, (4, 6))).is_err());
    }

    #[test]
    fn labels_come_from_folders_or_name_prefixes() {
        let paths = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let (l, c) = labels_from_names(&paths(&["d/cats/1.png", "d/dogs/2.png", "d/cats/3.png"])).unwrap();
        assert_eq!((l, c), (vec![0, 1, 0], vec!["cats".to_string(), "dogs".to_string()]));
        let (l, _) = labels_from_names(&paths(&["dog_1.png", "cat_7.jpg"])).unwrap();
        assert_eq!(l, vec![1, 0]);
        assert_eq!(labels_from_names(&paths(&["a.png", "b.png"])), None, "no class in the names");
        assert_eq!(labels_from_names(&paths(&["img_1.png", "img_2.png"])), None, "one class");
    }
}
