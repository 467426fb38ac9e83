//! QR codes of ticket payloads: SVG and PNG for the web and printers, text for
//! terminals, and reading a PNG back as an inspector's scanner does.
//!
//! The only module that knows the `qrcode`, `png` and `rqrr` crates; callers
//! hand over a payload string and get an image (or the payload) back.

use qrcode::render::unicode::Dense1x2;
use qrcode::{EcLevel, QrCode};

/// Why a QR code could not be drawn or read.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The payload does not fit in a QR code (far longer than any ticket).
    #[error("cannot encode the payload as a QR code: {0}")]
    Encode(#[from] qrcode::types::QrError),
    #[error("cannot write the PNG: {0}")]
    PngWrite(#[from] png::EncodingError),
    /// The bytes are not a PNG we can read.
    #[error("not a readable PNG: {0}")]
    PngRead(#[from] png::DecodingError),
    #[error("no QR code found in the image")]
    NotFound,
    #[error("QR code unreadable: {0}")]
    Unreadable(#[from] rqrr::DeQRError),
}

/// Pixels per module in the PNG, and modules of white border around the code
/// (the quiet zone scanners need).
const PNG_SCALE: usize = 4;
const PNG_QUIET_ZONE: usize = 4;

/// The payload as a QR code in SVG, at least 256 × 256.
pub fn svg(payload: &str) -> Result<String, QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(256, 256)
        .build())
}

/// The payload as a QR code in PNG: 8-bit greyscale, black on white.
pub fn png(payload: &str) -> Result<Vec<u8>, QrError> {
    let code = QrCode::new(payload.as_bytes())?;
    let modules = code.width();
    let colors = code.to_colors();
    let size = (modules + 2 * PNG_QUIET_ZONE) * PNG_SCALE;
    let mut pixels = vec![255u8; size * size];
    for y in 0..modules {
        for x in 0..modules {
            if colors[y * modules + x] == qrcode::Color::Dark {
                for dy in 0..PNG_SCALE {
                    let row = (y + PNG_QUIET_ZONE) * PNG_SCALE + dy;
                    let start = row * size + (x + PNG_QUIET_ZONE) * PNG_SCALE;
                    pixels[start..start + PNG_SCALE].fill(0);
                }
            }
        }
    }
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, size as u32, size as u32);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.write_header()?.write_image_data(&pixels)?;
    }
    Ok(out)
}

/// The payload as a QR code in terminal text, two modules per character row,
/// light on dark as terminals show it best. Low error correction keeps it small
/// enough for a terminal; `None` if the payload does not fit.
pub fn text(payload: &str) -> Option<String> {
    let code = QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::L).ok()?;
    Some(
        code.render::<Dense1x2>()
            .dark_color(Dense1x2::Light)
            .light_color(Dense1x2::Dark)
            .quiet_zone(true)
            .build(),
    )
}

/// Reads the payload back out of a QR code PNG (what an inspector's scanner does).
pub fn payload_from_png(png_bytes: &[u8]) -> Result<String, QrError> {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND | png::Transformations::STRIP_16);
    let mut reader = decoder.read_info()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf)?;
    let channels = info.color_type.samples();
    let (w, h) = (info.width as usize, info.height as usize);
    // The first channel is grey, or red for colour images: enough for black on white.
    let luma = |x: usize, y: usize| buf[(y * w + x) * channels];
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, luma);
    let grid = img
        .detect_grids()
        .into_iter()
        .next()
        .ok_or(QrError::NotFound)?;
    let (_, content) = grid.decode()?;
    Ok(content)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &str = "TKT1.eyJwbnIiOiJBQkMifQ.c2lnbmF0dXJl";

    #[test]
    fn png_round_trips_through_a_scanner() {
        let png = png(PAYLOAD).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert_eq!(payload_from_png(&png).unwrap(), PAYLOAD);
    }

    #[test]
    fn svg_and_text_draw_a_code() {
        assert!(svg(PAYLOAD).unwrap().starts_with("<?xml"));
        let text = text(PAYLOAD).unwrap();
        assert!(text.lines().count() > 10, "{text}");
        assert!(text.contains('█') || text.contains('▀') || text.contains('▄'));
    }

    #[test]
    fn images_without_a_code_are_refused() {
        assert!(matches!(
            payload_from_png(b"not a png"),
            Err(QrError::PngRead(_))
        ));
        let blank = {
            let mut out = Vec::new();
            let mut enc = png::Encoder::new(&mut out, 64, 64);
            enc.set_color(png::ColorType::Grayscale);
            enc.write_header()
                .unwrap()
                .write_image_data(&[255u8; 64 * 64])
                .unwrap();
            out
        };
        assert!(matches!(payload_from_png(&blank), Err(QrError::NotFound)));
    }
}
