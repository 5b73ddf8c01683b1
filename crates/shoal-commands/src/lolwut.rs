//! LOLWUT's computer art on a braille canvas (Redis's lolwut.c): Georg Nees's Schotter as
//! LOLWUT VERSION 5 draws it, and a shoal of fish of shoal's own for VERSION 6.

use std::f32::consts::PI;

/// A 1-bit canvas; each character of the output shows 2x4 pixels as a braille glyph.
struct Canvas {
    width: usize,
    height: usize,
    pixels: Vec<bool>,
}

impl Canvas {
    fn new(width: usize, height: usize) -> Canvas {
        Canvas {
            width,
            height,
            pixels: vec![false; width * height],
        }
    }

    fn set(&mut self, x: i64, y: i64) {
        if x >= 0 && y >= 0 && (x as usize) < self.width && (y as usize) < self.height {
            self.pixels[y as usize * self.width + x as usize] = true;
        }
    }

    fn get(&self, x: usize, y: usize) -> bool {
        x < self.width && y < self.height && self.pixels[y * self.width + x]
    }

    /// Bresenham, as lwDrawLine.
    fn line(&mut self, mut x1: i64, mut y1: i64, x2: i64, y2: i64) {
        let (dx, dy) = ((x2 - x1).abs(), (y2 - y1).abs());
        let sx = if x1 < x2 { 1 } else { -1 };
        let sy = if y1 < y2 { 1 } else { -1 };
        let mut err = dx - dy;
        loop {
            self.set(x1, y1);
            if x1 == x2 && y1 == y2 {
                break;
            }
            let e2 = err * 2;
            if e2 > -dy {
                err -= dy;
                x1 += sx;
            }
            if e2 < dx {
                err += dx;
                y1 += sy;
            }
        }
    }

    /// A square centred on (x, y) turned by `angle`, as lwDrawSquare.
    fn square(&mut self, x: i64, y: i64, size: f32, angle: f32) {
        let size = (size / std::f32::consts::SQRT_2).round();
        let mut k = PI / 4.0 + angle;
        let mut p = [(0i64, 0i64); 4];
        for pt in &mut p {
            *pt = (
                (k.sin() * size + x as f32).round() as i64,
                (k.cos() * size + y as f32).round() as i64,
            );
            k += PI / 2.0;
        }
        for j in 0..4 {
            let (a, b) = (p[j], p[(j + 1) % 4]);
            self.line(a.0, a.1, b.0, b.1);
        }
    }

    /// Rows of braille characters, as renderCanvas.
    fn render(&self) -> String {
        let mut s = String::new();
        let mut y = 0;
        while y < self.height {
            let mut x = 0;
            while x < self.width {
                let bits = [
                    (x, y),
                    (x, y + 1),
                    (x, y + 2),
                    (x + 1, y),
                    (x + 1, y + 1),
                    (x + 1, y + 2),
                    (x, y + 3),
                    (x + 1, y + 3),
                ];
                let byte = bits
                    .iter()
                    .enumerate()
                    .filter(|(_, (px, py))| self.get(*px, *py))
                    .fold(0u32, |b, (i, _)| b | 1 << i);
                s.push(char::from_u32(0x2800 + byte).unwrap_or(' '));
                x += 2;
            }
            if y != self.height - 1 {
                s.push('\n');
            }
            y += 4;
        }
        s
    }
}

/// A random number in [0, 1].
fn unit() -> f32 {
    rand::random::<f32>()
}

/// Georg Nees's Schotter: rows of squares growing more disordered downwards (lwDrawSchotter).
pub fn schotter(cols: usize, per_row: usize, per_col: usize) -> String {
    let width = cols * 2;
    let padding = if width > 4 { 2 } else { 0 };
    let side = (width - padding * 2) as f32 / per_row as f32;
    let height = (side * per_col as f32) as usize + padding * 2;
    let mut c = Canvas::new(width, height);
    for y in 0..per_col {
        for x in 0..per_row {
            let mut sx = (x as f32 * side + side / 2.0 + padding as f32) as i64;
            let mut sy = (y as f32 * side + side / 2.0 + padding as f32) as i64;
            let mut angle = 0.0;
            if y > 1 {
                let disorder = |_: ()| {
                    let r = unit() / per_col as f32 * y as f32;
                    if rand::random::<bool>() { -r } else { r }
                };
                angle = disorder(());
                sx += (disorder(()) * side / 3.0) as i64;
                sy += (disorder(()) * side / 3.0) as i64;
            }
            c.square(sx, sy, side, angle);
        }
    }
    c.render()
}

/// A shoal of fish swimming the same way, a few out of line: `cols` characters wide and
/// `rows` characters high.
pub fn shoal(cols: usize, rows: usize) -> String {
    let (w, h) = (cols * 2, rows * 4);
    let mut c = Canvas::new(w, h);
    let size = 12.0f32;
    let (per_row, per_col) = (
        ((w as f32 / (size * 2.0)) as usize).max(1),
        ((h as f32 / size) as usize).max(1),
    );
    for j in 0..per_col {
        for i in 0..per_row {
            let cx = (i as f32 + 0.5) * w as f32 / per_row as f32 + (unit() - 0.5) * size;
            let cy = (j as f32 + 0.5) * h as f32 / per_col as f32 + (unit() - 0.5) * size / 2.0;
            // One fish in seven swims against the others.
            let dir = if unit() < 1.0 / 7.0 { -1.0 } else { 1.0 };
            fish(&mut c, cx, cy, size * (0.7 + unit() * 0.3), dir);
        }
    }
    c.render()
}

/// A fish: an elliptic body, a forked tail and an eye; `dir` 1 faces right.
fn fish(c: &mut Canvas, cx: f32, cy: f32, len: f32, dir: f32) {
    let (a, b) = (len / 2.0, len / 5.0);
    let steps = (len * 4.0) as usize;
    let mut prev: Option<(i64, i64)> = None;
    for k in 0..=steps {
        let t = k as f32 / steps as f32 * 2.0 * PI;
        let p = (
            (cx + a * t.cos()).round() as i64,
            (cy + b * t.sin()).round() as i64,
        );
        if let Some(q) = prev {
            c.line(q.0, q.1, p.0, p.1);
        }
        prev = Some(p);
    }
    let tail = cx - dir * a;
    let end = tail - dir * len / 4.0;
    let (t, e) = (tail.round() as i64, end.round() as i64);
    let y = cy.round() as i64;
    let fork = (b * 1.2).round() as i64;
    c.line(t, y, e, y - fork);
    c.line(t, y, e, y + fork);
    c.line(e, y - fork, e, y + fork);
    c.set(
        (cx + dir * a * 0.55).round() as i64,
        y - (b / 3.0).round() as i64,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schotter_has_redis_dimensions() {
        let art = schotter(66, 8, 12);
        let lines: Vec<&str> = art.lines().collect();
        // 132 px wide (66 chars); 16 px squares: 12*16+4 = 196 px high = 49 rows.
        assert_eq!(lines.len(), 49);
        assert!(lines.iter().all(|l| l.chars().count() == 66));
        assert!(art.chars().any(|c| c != '\u{2800}' && c != '\n'));
    }

    #[test]
    fn tiny_and_huge_sizes_stay_bounded() {
        assert_eq!(schotter(1, 1, 1).trim_end().chars().count(), 1);
        let s = shoal(1000, 1000);
        assert_eq!(s.lines().count(), 1000);
        assert_eq!(shoal(1, 1).trim_end().chars().count(), 1);
    }
}
