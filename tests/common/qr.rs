//! Reads a QR code back from the SVG the gateway draws (`convoy_gateway::phones::qr_svg`), as a
//! phone's camera would read it off the screen: its dark rectangles painted on a bitmap, then
//! decoded by rqrr, a decoder that shares no code with the encoder.

/// The text of the one QR code in `svg`. Panics when there is not exactly one, or it does not
/// decode.
pub fn read_qr_svg(svg: &str) -> String {
    let number = |s: &str| s.parse::<usize>().unwrap_or_else(|_| panic!("{s:?} is not a number in {svg}"));
    let attribute = |name: &str| {
        let start = svg.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        number(&svg[start..start + svg[start..].find('"').unwrap()])
    };
    let (width, height) = (attribute("width"), attribute("height"));
    let mut dark = vec![false; width * height];
    let path_start = svg.find(" d=\"").unwrap() + 4;
    let path = &svg[path_start..path_start + svg[path_start..].find('"').unwrap()];
    for rect in path.split('M').filter(|r| !r.is_empty()) {
        // qrcode writes each dark run as "{x} {y}h{w}v{h}H{x}V{y}".
        let (xy, rest) = rect.split_once('h').unwrap();
        let (x, y) = xy.split_once(' ').unwrap();
        let (w, rest) = rest.split_once('v').unwrap();
        let h = rest.split_once('H').unwrap().0;
        let (x, y, w, h) = (number(x), number(y), number(w), number(h));
        for row in y..y + h {
            dark[row * width + x..row * width + x + w].fill(true);
        }
    }
    let mut image = rqrr::PreparedImage::prepare_from_bitmap(width, height, |x, y| dark[y * width + x]);
    let grids = image.detect_grids();
    assert_eq!(grids.len(), 1, "one QR code in the image");
    grids[0].decode().unwrap().1
}
