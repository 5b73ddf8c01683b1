//! Redis's geohash (a port of Redis 7.0's `geohash.c` and `geohash_helper.c`): 52-bit
//! interleaved scores, the nine boxes that cover a search area, haversine distances. Ported
//! operation for operation, so scores, coordinates and distances are Redis's to the last bit.

pub const STEP_MAX: u8 = 26;
pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;

const D_R: f64 = std::f64::consts::PI / 180.0;
const EARTH_RADIUS_IN_METERS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;

#[inline]
fn deg_rad(ang: f64) -> f64 {
    ang * D_R
}
#[inline]
fn rad_deg(ang: f64) -> f64 {
    ang / D_R
}

#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Bits {
    pub bits: u64,
    pub step: u8,
}

impl Bits {
    fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub longitude: Range,
    pub latitude: Range,
}

const WGS84_LONG: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const WGS84_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

fn interleave64(xlo: u32, ylo: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (xlo as u64, ylo as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

fn deinterleave64(interleaved: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = interleaved;
    let mut y = interleaved >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// C's conversion of a double to `uint32_t` as x86-64 compilers do it for in-range values.
#[inline]
fn to_u32(x: f64) -> u32 {
    x as i64 as u32
}

/// `geohashEncode`: `None` where Redis returns 0.
pub fn encode(
    long_range: Range,
    lat_range: Range,
    longitude: f64,
    latitude: f64,
    step: u8,
) -> Option<Bits> {
    if step > 32
        || step == 0
        || (lat_range.min == 0.0 && lat_range.max == 0.0)
        || (long_range.min == 0.0 && long_range.max == 0.0)
    {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&longitude) || !(LAT_MIN..=LAT_MAX).contains(&latitude) {
        return None;
    }
    if latitude < lat_range.min
        || latitude > lat_range.max
        || longitude < long_range.min
        || longitude > long_range.max
    {
        return None;
    }
    let mut lat_offset = (latitude - lat_range.min) / (lat_range.max - lat_range.min);
    let mut long_offset = (longitude - long_range.min) / (long_range.max - long_range.min);
    lat_offset *= (1u64 << step) as f64;
    long_offset *= (1u64 << step) as f64;
    Some(Bits {
        bits: interleave64(to_u32(lat_offset), to_u32(long_offset)),
        step,
    })
}

pub fn encode_wgs84(longitude: f64, latitude: f64, step: u8) -> Option<Bits> {
    encode(WGS84_LONG, WGS84_LAT, longitude, latitude, step)
}

pub fn decode(long_range: Range, lat_range: Range, hash: Bits) -> Option<Area> {
    if hash.is_zero()
        || (lat_range.min == 0.0 && lat_range.max == 0.0)
        || (long_range.min == 0.0 && long_range.max == 0.0)
    {
        return None;
    }
    let step = hash.step as u32;
    let sep = deinterleave64(hash.bits);
    let lat_scale = lat_range.max - lat_range.min;
    let long_scale = long_range.max - long_range.min;
    let ilato = sep as u32;
    let ilono = (sep >> 32) as u32;
    let div = (1u64 << step) as f64;
    Some(Area {
        latitude: Range {
            min: lat_range.min + (ilato as f64 * 1.0 / div) * lat_scale,
            max: lat_range.min + (ilato.wrapping_add(1) as f64 * 1.0 / div) * lat_scale,
        },
        longitude: Range {
            min: long_range.min + (ilono as f64 * 1.0 / div) * long_scale,
            max: long_range.min + (ilono.wrapping_add(1) as f64 * 1.0 / div) * long_scale,
        },
    })
}

/// The centre of an area, clamped to the valid range: (longitude, latitude).
fn area_center(a: &Area) -> (f64, f64) {
    let x = ((a.longitude.min + a.longitude.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let y = ((a.latitude.min + a.latitude.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    (x, y)
}

/// C's conversion of a double to `uint64_t` on x86-64 (what Redis's `(uint64_t)score` gives
/// for any score, in range or not).
pub fn c_double_to_u64(x: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if x < TWO63 {
        if x > -TWO63 { x as i64 as u64 } else { 1 << 63 }
    } else {
        let y = x - TWO63;
        if y < TWO63 {
            (y as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    }
}

/// A sorted set score decoded to (longitude, latitude) (Redis's `decodeGeohash`).
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let hash = Bits {
        bits: c_double_to_u64(score),
        step: STEP_MAX,
    };
    decode(WGS84_LONG, WGS84_LAT, hash).map(|a| area_center(&a))
}

/// The score GEOADD gives a position (already checked to be in range).
pub fn score_of(longitude: f64, latitude: f64) -> Option<f64> {
    encode_wgs84(longitude, latitude, STEP_MAX).map(|h| align52(h) as f64)
}

pub fn align52(h: Bits) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

/// GEOHASH's 11-character standard geohash of a score.
pub fn geohash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHABET: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (x, y) = decode_score(score)?;
    let r0 = Range {
        min: -180.0,
        max: 180.0,
    };
    let r1 = Range {
        min: -90.0,
        max: 90.0,
    };
    let bits = encode(r0, r1, x, y, 26).map_or(0, |h| h.bits);
    let mut buf = [0u8; 11];
    for (i, b) in buf.iter_mut().enumerate() {
        let idx = if i == 10 {
            0
        } else {
            ((bits >> (52 - (i + 1) * 5)) & 0x1f) as usize
        };
        *b = ALPHABET[idx];
    }
    Some(buf)
}

fn move_x(hash: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let y = hash.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - hash.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - hash.step as u32 * 2);
    hash.bits = x | y;
}

fn move_y(hash: &mut Bits, d: i8) {
    if d == 0 {
        return;
    }
    let x = hash.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = hash.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - hash.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> (64 - hash.step as u32 * 2);
    hash.bits = x | y;
}

#[derive(Clone, Copy, Debug, Default)]
struct Neighbors {
    north: Bits,
    east: Bits,
    west: Bits,
    south: Bits,
    north_east: Bits,
    south_east: Bits,
    north_west: Bits,
    south_west: Bits,
}

fn neighbors(hash: &Bits) -> Neighbors {
    let mv = |dx: i8, dy: i8| {
        let mut h = *hash;
        move_x(&mut h, dx);
        move_y(&mut h, dy);
        h
    };
    Neighbors {
        east: mv(1, 0),
        west: mv(-1, 0),
        south: mv(0, -1),
        north: mv(0, 1),
        north_west: mv(-1, 1),
        north_east: mv(1, 1),
        south_east: mv(1, -1),
        south_west: mv(-1, -1),
    }
}

/// What a search covers.
#[derive(Clone, Copy, Debug)]
pub enum Shape {
    /// A radius (in the unit's own measure).
    Circle { radius: f64 },
    /// Width and height (in the unit's own measure).
    Box { width: f64, height: f64 },
}

/// A search: centre, shape and the unit's size in meters.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub lon: f64,
    pub lat: f64,
    pub shape: Shape,
    pub conversion: f64,
}

fn estimate_steps_by_radius(mut range_meters: f64, lat: f64) -> u8 {
    if range_meters == 0.0 {
        return 26;
    }
    let mut step: i32 = 1;
    while range_meters < MERCATOR_MAX {
        range_meters *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

/// (min longitude, min latitude, max longitude, max latitude) around the search.
fn bounding_box(s: &Search) -> [f64; 4] {
    let (height, width) = match s.shape {
        Shape::Circle { radius } => (s.conversion * radius, s.conversion * radius),
        Shape::Box { width, height } => {
            (s.conversion * (height / 2.0), s.conversion * (width / 2.0))
        }
    };
    let lat_delta = rad_deg(height / EARTH_RADIUS_IN_METERS);
    let long_delta_top = rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(s.lat + lat_delta).cos());
    let long_delta_bottom =
        rad_deg(width / EARTH_RADIUS_IN_METERS / deg_rad(s.lat - lat_delta).cos());
    let southern = s.lat < 0.0;
    [
        if southern {
            s.lon - long_delta_bottom
        } else {
            s.lon - long_delta_top
        },
        s.lat - lat_delta,
        if southern {
            s.lon + long_delta_bottom
        } else {
            s.lon + long_delta_top
        },
        s.lat + lat_delta,
    ]
}

/// The nine boxes (centre, N, S, E, W, NE, NW, SE, SW) to query, some zeroed when useless
/// (Redis's `geohashCalculateAreasByShapeWGS84`).
pub fn areas(s: &Search) -> [Bits; 9] {
    let b = bounding_box(s);
    let (min_lon, min_lat, max_lon, max_lat) = (b[0], b[1], b[2], b[3]);
    let mut radius_meters = match s.shape {
        Shape::Circle { radius } => radius,
        Shape::Box { width, height } => {
            ((width / 2.0) * (width / 2.0) + (height / 2.0) * (height / 2.0)).sqrt()
        }
    };
    radius_meters *= s.conversion;
    let mut steps = estimate_steps_by_radius(radius_meters, s.lat);
    let enc = |steps: u8| encode(WGS84_LONG, WGS84_LAT, s.lon, s.lat, steps).unwrap_or_default();
    let dec = |h: Bits| decode(WGS84_LONG, WGS84_LAT, h).unwrap_or_default();
    let mut hash = enc(steps);
    let mut n = neighbors(&hash);
    let mut area = dec(hash);
    let decrease = {
        let (north, south, east, west) = (dec(n.north), dec(n.south), dec(n.east), dec(n.west));
        north.latitude.max < max_lat
            || south.latitude.min > min_lat
            || east.longitude.max < max_lon
            || west.longitude.min > min_lon
    };
    if steps > 1 && decrease {
        steps -= 1;
        hash = enc(steps);
        n = neighbors(&hash);
        area = dec(hash);
    }
    if steps >= 2 {
        let z = Bits::default();
        if area.latitude.min < min_lat {
            n.south = z;
            n.south_west = z;
            n.south_east = z;
        }
        if area.latitude.max > max_lat {
            n.north = z;
            n.north_east = z;
            n.north_west = z;
        }
        if area.longitude.min < min_lon {
            n.west = z;
            n.south_west = z;
            n.north_west = z;
        }
        if area.longitude.max > max_lon {
            n.east = z;
            n.south_east = z;
            n.north_east = z;
        }
    }
    [
        hash,
        n.north,
        n.south,
        n.east,
        n.west,
        n.north_east,
        n.north_west,
        n.south_east,
        n.south_west,
    ]
}

/// The score range `[min, max)` of the members inside box `h`.
pub fn box_scores(h: Bits) -> (f64, f64) {
    let min = align52(h);
    let max = align52(Bits {
        bits: h.bits.wrapping_add(1),
        step: h.step,
    });
    (min as f64, max as f64)
}

/// Haversine distance in meters; along a meridian, the arc of latitude (as Redis 7.0.15 computes
/// it, which differs from the haversine in the last bits).
pub fn distance(lon1d: f64, lat1d: f64, lon2d: f64, lat2d: f64) -> f64 {
    let lon1r = deg_rad(lon1d);
    let lon2r = deg_rad(lon2d);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return EARTH_RADIUS_IN_METERS * (deg_rad(lat2d) - deg_rad(lat1d)).abs();
    }
    let lat1r = deg_rad(lat1d);
    let lat2r = deg_rad(lat2d);
    let u = ((lat2r - lat1r) / 2.0).sin();
    2.0 * EARTH_RADIUS_IN_METERS * (u * u + lat1r.cos() * lat2r.cos() * v * v).sqrt().asin()
}

/// The distance from the centre of the search to (lon, lat) if that is inside it.
pub fn within(s: &Search, lon: f64, lat: f64) -> Option<f64> {
    match s.shape {
        Shape::Circle { radius } => {
            let d = distance(s.lon, s.lat, lon, lat);
            (d <= radius * s.conversion).then_some(d)
        }
        Shape::Box { width, height } => {
            let (w, h) = (width * s.conversion, height * s.conversion);
            let lon_distance = distance(lon, lat, s.lon, lat);
            let lat_distance = distance(lon, lat, lon, s.lat);
            if lon_distance > w / 2.0 || lat_distance > h / 2.0 {
                return None;
            }
            Some(distance(s.lon, s.lat, lon, lat))
        }
    }
}

/// Redis's `%.17Lf` with trailing zeros trimmed (`LD_STR_HUMAN`), as GEOPOS replies.
pub fn human(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    let mut s = format!("{v:.17}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_and_positions_match_redis() {
        // redis-server 7.0.15: GEOADD Sicily 13.361389 38.115556 Palermo; ZSCORE and GEOPOS.
        let s = score_of(13.361389, 38.115556).unwrap();
        assert_eq!(s, 3479099956230698.0);
        let (x, y) = decode_score(s).unwrap();
        assert_eq!(human(x), "13.36138933897018433");
        assert_eq!(human(y), "38.11555639549629859");
        assert_eq!(&geohash_string(s).unwrap(), b"sqc8b49rny0");
        let c = score_of(15.087269, 37.502669).unwrap();
        let (x2, y2) = decode_score(c).unwrap();
        assert_eq!(format!("{:.4}", distance(x, y, x2, y2)), "166274.1516");
    }

    #[test]
    fn meridian_distances_are_arcs_of_latitude() {
        // redis-server 7.0.15, two members at longitude -179.99999731779099: 5667.8403304691055
        // km (the haversine gives ...106).
        let d = distance(
            -179.99999731779099,
            85.04999956172351,
            -179.99999731779099,
            34.09226447147004,
        );
        assert_eq!(d / 1000.0, 5667.8403304691055);
    }

    #[test]
    fn interleave_round_trips() {
        for (a, b) in [(0u32, 0u32), (1, 2), (0xffff_ffff, 0), (12345, 67890)] {
            let d = deinterleave64(interleave64(a, b));
            assert_eq!((d as u32, (d >> 32) as u32), (a, b));
        }
    }

    #[test]
    fn out_of_range_scores_do_not_panic() {
        for s in [-1.0, 1e300, f64::INFINITY, f64::NEG_INFINITY, 4.5e15] {
            let _ = decode_score(s);
            let _ = geohash_string(s);
        }
    }
}
