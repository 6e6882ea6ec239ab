//! Drawing a [`Chart`] with plotters: into an SVG string, or into an RGB buffer encoded as
//! PNG.
//!
//! Every figure family (time series, time-sequence graph, sweep) describes its figure as a
//! `Chart` — title, axis labels with units, and its series — and this file is the only one
//! that talks to plotters, so all figures share one look: a white background, a light grid,
//! the axes' descriptions, and the legend in a column to the right of the plot, where it
//! never hides data.
//!
//! Text: the SVG backend writes `<text font-family="sans-serif">` elements, which any
//! viewer draws with its own fonts; the bitmap backend rasterizes text itself, with DejaVu
//! Sans embedded in the binary (the `dejavu` crate), so PNGs need no font on the machine.
//! Plotters measures text with that same font for both backends, so both lay out alike.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::PlotError;

/// Width of every figure in pixels.
pub(crate) const WIDTH: u32 = 1000;
/// Height of every figure in pixels.
pub(crate) const HEIGHT: u32 = 560;

/// A figure's contents, independent of the backend that draws it.
#[derive(Debug, Clone)]
pub(crate) struct Chart {
    /// File stem: `cwnd`, `qdisc-r1-eth1`, `tcpseq-h1-40000`.
    pub name: String,
    /// The caption above the plot.
    pub title: String,
    /// The x axis's description, with its unit: `time (s)`.
    pub x_label: String,
    /// The y axis's description, with its unit: `cwnd (packets)`.
    pub y_label: String,
    /// The series, drawn in order (later ones on top); each has a legend entry.
    pub series: Vec<Series>,
    /// Category names when x is categorical: x = 0, 1, … is labelled with these.
    pub x_categories: Option<Vec<String>>,
    /// Lines of text under the legend (what error bars mean, totals).
    pub notes: Vec<String>,
    /// Whether the y axis starts at 0 (else it fits the data).
    pub y_from_zero: bool,
}

impl Chart {
    /// Keeps only the points with `from <= x <= to`.
    pub(crate) fn clip_x(&mut self, from: f64, to: f64) {
        let keep = |x: f64| from <= x && x <= to;
        for s in &mut self.series {
            match &mut s.kind {
                Kind::Line(p) | Kind::Dashed(p) | Kind::Step(p) => p.retain(|q| keep(q.0)),
                Kind::Bars(b) | Kind::MarkedBars(b) => b.retain(|q| keep(q.0)),
                Kind::ErrorBars(e) => e.retain(|q| keep(q.0)),
            }
        }
    }
}

/// One series of a chart.
#[derive(Debug, Clone)]
pub(crate) struct Series {
    /// Its legend entry; an empty label has none (a series that a note explains).
    pub label: String,
    /// Its colour: an index into the palette.
    pub color: usize,
    /// What it draws.
    pub kind: Kind,
}

/// The shapes a series can draw.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// A polyline through `(x, y)` points.
    Line(Vec<(f64, f64)>),
    /// A thin dashed polyline: a second figure of the series of the same colour.
    Dashed(Vec<(f64, f64)>),
    /// A staircase: each value holds until the next point's x.
    Step(Vec<(f64, f64)>),
    /// Vertical bars `(x, y0, y1)`: a segment's sequence range at its time.
    Bars(Vec<(f64, f64, f64)>),
    /// Bars with a ring around each top, so that one bar thinner than a pixel still shows
    /// (retransmissions).
    MarkedBars(Vec<(f64, f64, f64)>),
    /// Points `(x, mean, low, high)`: a line through the means, a dot at each, and a
    /// whisker from low to high.
    ErrorBars(Vec<(f64, f64, f64, f64)>),
}

impl Kind {
    /// Every (x, y) the series touches, for the axis ranges.
    fn extent(&self) -> Vec<(f64, f64)> {
        match self {
            Self::Line(p) | Self::Dashed(p) | Self::Step(p) => p.clone(),
            Self::Bars(b) | Self::MarkedBars(b) => {
                b.iter().flat_map(|&(x, a, b)| [(x, a), (x, b)]).collect()
            }
            Self::ErrorBars(e) => e
                .iter()
                .flat_map(|&(x, _, lo, hi)| [(x, lo), (x, hi)])
                .collect(),
        }
    }
}

/// The palette: matplotlib's "tab10" (distinct on screen and in grey print), then the
/// lighter halves of its "tab20", so that 20 lines have 20 colours.
const PALETTE: [RGBColor; 20] = [
    RGBColor(0x1f, 0x77, 0xb4),
    RGBColor(0xff, 0x7f, 0x0e),
    RGBColor(0x2c, 0xa0, 0x2c),
    RGBColor(0xd6, 0x27, 0x28),
    RGBColor(0x94, 0x67, 0xbd),
    RGBColor(0x8c, 0x56, 0x4b),
    RGBColor(0xe3, 0x77, 0xc2),
    RGBColor(0x7f, 0x7f, 0x7f),
    RGBColor(0xbc, 0xbd, 0x22),
    RGBColor(0x17, 0xbe, 0xcf),
    RGBColor(0xae, 0xc7, 0xe8),
    RGBColor(0xff, 0xbb, 0x78),
    RGBColor(0x98, 0xdf, 0x8a),
    RGBColor(0xff, 0x98, 0x96),
    RGBColor(0xc5, 0xb0, 0xd5),
    RGBColor(0xc4, 0x9c, 0x94),
    RGBColor(0xf7, 0xb6, 0xd2),
    RGBColor(0xc7, 0xc7, 0xc7),
    RGBColor(0xdb, 0xdb, 0x8d),
    RGBColor(0x9e, 0xda, 0xe5),
];

/// Palette index of blue, orange, green and red, for figures that name their colours.
pub(crate) const BLUE: usize = 0;
/// Orange.
pub(crate) const ORANGE: usize = 1;
/// Green.
pub(crate) const GREEN: usize = 2;
/// Red.
pub(crate) const RED: usize = 3;
/// Purple.
pub(crate) const PURPLE: usize = 4;

fn color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Makes DejaVu Sans the font plotters uses for "sans-serif" (once per process). Plotters'
/// `ab_glyph` text needs a registered font for measuring (both backends) and drawing (PNG).
fn register_font(chart: &Chart) -> Result<(), PlotError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| {
        plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
            .is_ok()
    });
    if ok {
        Ok(())
    } else {
        Err(PlotError::Draw {
            name: chart.name.clone(),
            msg: "the embedded DejaVu Sans font does not parse".to_string(),
        })
    }
}

/// The chart as an SVG document.
pub(crate) fn svg(chart: &Chart) -> Result<String, PlotError> {
    register_font(chart)?;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(draw_error(chart))?;
    }
    Ok(out)
}

/// The chart as a PNG file's bytes.
pub(crate) fn png(chart: &Chart) -> Result<Vec<u8>, PlotError> {
    register_font(chart)?;
    let mut rgb = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (WIDTH, HEIGHT)).into_drawing_area();
        draw(chart, &root)?;
        root.present().map_err(draw_error(chart))?;
    }
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, WIDTH, HEIGHT);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    let encoded = enc
        .write_header()
        .and_then(|mut w| w.write_image_data(&rgb).and_then(|()| w.finish()));
    encoded.map_err(|e| PlotError::Draw {
        name: chart.name.clone(),
        msg: format!("PNG encoding: {e}"),
    })?;
    Ok(out)
}

fn draw_error<E: std::fmt::Debug>(chart: &Chart) -> impl Fn(E) -> PlotError + '_ {
    |e| PlotError::Draw {
        name: chart.name.clone(),
        msg: format!("{e:?}"),
    }
}

/// A tick label: the shortest decimal that shows `v` to 6 decimal places; from a million
/// on, in millions (`2.5M`) or billions (`1.2G`).
pub(crate) fn tick(v: f64) -> String {
    let (v, suffix) = if v.abs() >= 1e9 {
        (v / 1e9, "G")
    } else if v.abs() >= 1e6 {
        (v / 1e6, "M")
    } else {
        (v, "")
    };
    let s = format!("{v:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" || s == "0" {
        "0".to_string()
    } else {
        format!("{s}{suffix}")
    }
}

/// Axis range of `lo..hi` with a little headroom; a flat range is widened.
fn range(lo: f64, hi: f64, from_zero: bool) -> (f64, f64) {
    let lo = if from_zero { lo.min(0.0) } else { lo };
    if hi > lo {
        let pad = if from_zero && lo == 0.0 {
            (hi - lo) * 0.05
        } else {
            (hi - lo) * 0.03
        };
        (
            if from_zero && lo == 0.0 {
                0.0
            } else {
                lo - pad
            },
            hi + pad,
        )
    } else if lo == 0.0 {
        (0.0, 1.0)
    } else {
        (lo - lo.abs() * 0.1, hi + hi.abs() * 0.1)
    }
}

const LEGEND_LINE: i32 = 18;

/// Draws `chart` on `root`.
fn draw<DB: DrawingBackend>(chart: &Chart, root: &DrawingArea<DB, Shift>) -> Result<(), PlotError> {
    let err = draw_error(chart);
    root.fill(&WHITE).map_err(&err)?;
    let longest = chart
        .series
        .iter()
        .map(|s| s.label.chars().count())
        .chain(chart.notes.iter().map(|n| n.chars().count()))
        .max()
        .unwrap_or(0);
    let legend_w = (48 + 7 * longest as u32).clamp(140, 380);
    let (plot, legend) = root.split_horizontally(WIDTH - legend_w);

    let pts: Vec<(f64, f64)> = chart.series.iter().flat_map(|s| s.kind.extent()).collect();
    let (x0, x1, y0, y1) = if let Some(c) = &chart.x_categories {
        let (y0, y1) = range(
            pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
            chart.y_from_zero,
        );
        (-0.5, c.len() as f64 - 0.5, y0, y1)
    } else if pts.is_empty() {
        (0.0, 1.0, 0.0, 1.0)
    } else {
        let (x0, x1) = range(
            pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min),
            pts.iter().map(|p| p.0).fold(f64::NEG_INFINITY, f64::max),
            false,
        );
        let (y0, y1) = range(
            pts.iter().map(|p| p.1).fold(f64::INFINITY, f64::min),
            pts.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max),
            chart.y_from_zero,
        );
        // Time starts at 0 (or at the first point, if that is later than the padding).
        let xmin = pts.iter().map(|p| p.0).fold(f64::INFINITY, f64::min);
        (if xmin >= 0.0 { x0.max(0.0) } else { x0 }, x1, y0, y1)
    };

    let mut cc = ChartBuilder::on(&plot)
        .caption(&chart.title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(78)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(&err)?;
    let categories = chart.x_categories.clone();
    let x_fmt = move |v: &f64| match &categories {
        Some(c) => {
            let i = v.round();
            if (v - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < c.len() {
                c[i as usize].clone()
            } else {
                String::new()
            }
        }
        None => tick(*v),
    };
    let n_x_labels = chart.x_categories.as_ref().map_or(10, |c| c.len() + 1);
    cc.configure_mesh()
        .x_desc(chart.x_label.as_str())
        .y_desc(chart.y_label.as_str())
        .x_labels(n_x_labels)
        .y_labels(8)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&|v| tick(*v))
        .label_style(("sans-serif", 13))
        .axis_desc_style(("sans-serif", 15))
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .light_line_style(RGBColor(0xf2, 0xf2, 0xf2))
        .draw()
        .map_err(&err)?;

    let cap = (x1 - x0) * 0.006;
    for s in &chart.series {
        let c = color(s.color);
        match &s.kind {
            Kind::Line(p) => {
                cc.draw_series(std::iter::once(PathElement::new(
                    p.clone(),
                    c.stroke_width(2),
                )))
                .map_err(&err)?;
            }
            Kind::Dashed(p) => {
                cc.draw_series(std::iter::once(DashedPathElement::new(
                    p.iter().copied(),
                    5,
                    4,
                    c.stroke_width(1),
                )))
                .map_err(&err)?;
            }
            Kind::Step(p) => {
                let mut path = Vec::with_capacity(p.len() * 2);
                for (i, &(x, y)) in p.iter().enumerate() {
                    if i > 0 {
                        path.push((x, p[i - 1].1));
                    }
                    path.push((x, y));
                }
                cc.draw_series(std::iter::once(PathElement::new(path, c.stroke_width(2))))
                    .map_err(&err)?;
            }
            Kind::Bars(b) | Kind::MarkedBars(b) => {
                cc.draw_series(
                    b.iter().map(|&(x, a, z)| {
                        PathElement::new(vec![(x, a), (x, z)], c.stroke_width(2))
                    }),
                )
                .map_err(&err)?;
                if matches!(s.kind, Kind::MarkedBars(_)) {
                    cc.draw_series(
                        b.iter()
                            .map(|&(x, _, z)| Circle::new((x, z), 4, c.stroke_width(2))),
                    )
                    .map_err(&err)?;
                }
            }
            Kind::ErrorBars(e) => {
                cc.draw_series(std::iter::once(PathElement::new(
                    e.iter().map(|p| (p.0, p.1)).collect::<Vec<_>>(),
                    c.stroke_width(2),
                )))
                .map_err(&err)?;
                let cap = if chart.x_categories.is_some() {
                    0.04
                } else {
                    cap
                };
                cc.draw_series(e.iter().flat_map(|&(x, _, lo, hi)| {
                    [
                        PathElement::new(vec![(x, lo), (x, hi)], c.stroke_width(1)),
                        PathElement::new(vec![(x - cap, lo), (x + cap, lo)], c.stroke_width(1)),
                        PathElement::new(vec![(x - cap, hi), (x + cap, hi)], c.stroke_width(1)),
                    ]
                }))
                .map_err(&err)?;
                cc.draw_series(
                    e.iter()
                        .map(|&(x, m, _, _)| Circle::new((x, m), 4, c.filled())),
                )
                .map_err(&err)?;
            }
        }
    }

    // The legend: one entry per series, then the notes, from the top of the right column.
    let font = ("sans-serif", 13).into_font();
    let mut y = 46;
    let max_rows = ((HEIGHT as i32 - y - 20) / LEGEND_LINE) as usize;
    let listed: Vec<&Series> = chart
        .series
        .iter()
        .filter(|s| !s.label.is_empty())
        .collect();
    let shown = if listed.len() + chart.notes.len() > max_rows {
        max_rows.saturating_sub(1 + chart.notes.len())
    } else {
        listed.len()
    };
    for s in listed.iter().take(shown) {
        let c = color(s.color);
        let mid = y + LEGEND_LINE / 2 - 2;
        match s.kind {
            Kind::Bars(_) | Kind::MarkedBars(_) => {
                legend
                    .draw(&PathElement::new(
                        vec![(16, mid - 6), (16, mid + 6)],
                        c.stroke_width(3),
                    ))
                    .map_err(&err)?;
                if matches!(s.kind, Kind::MarkedBars(_)) {
                    legend
                        .draw(&Circle::new((16, mid - 6), 4, c.stroke_width(2)))
                        .map_err(&err)?;
                }
            }
            Kind::ErrorBars(_) => {
                legend
                    .draw(&PathElement::new(
                        vec![(4, mid), (28, mid)],
                        c.stroke_width(2),
                    ))
                    .map_err(&err)?;
                legend
                    .draw(&Circle::new((16, mid), 4, c.filled()))
                    .map_err(&err)?;
            }
            Kind::Dashed(_) => legend
                .draw(&DashedPathElement::new(
                    [(4, mid), (28, mid)],
                    5,
                    4,
                    c.stroke_width(1),
                ))
                .map_err(&err)?,
            Kind::Line(_) | Kind::Step(_) => legend
                .draw(&PathElement::new(
                    vec![(4, mid), (28, mid)],
                    c.stroke_width(2),
                ))
                .map_err(&err)?,
        }
        legend
            .draw(&Text::new(s.label.clone(), (36, y), font.clone()))
            .map_err(&err)?;
        y += LEGEND_LINE;
    }
    if shown < listed.len() {
        legend
            .draw(&Text::new(
                format!("… and {} more", listed.len() - shown),
                (36, y),
                font.clone(),
            ))
            .map_err(&err)?;
        y += LEGEND_LINE;
    }
    y += LEGEND_LINE / 2;
    for n in &chart.notes {
        legend
            .draw(&Text::new(n.clone(), (4, y), font.clone()))
            .map_err(&err)?;
        y += LEGEND_LINE;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(2.0), "2");
        assert_eq!(tick(-0.0), "0");
        assert_eq!(tick(12_000_000.0), "12M");
        assert_eq!(tick(2_500_000.0), "2.5M");
        assert_eq!(tick(-3e9), "-3G");
        assert_eq!(tick(500_000.0), "500000");
        assert_eq!(tick(0.000125), "0.000125");
    }

    #[test]
    fn ranges_start_at_zero_with_headroom() {
        assert_eq!(range(0.0, 100.0, true), (0.0, 105.0));
        assert_eq!(range(0.0, 0.0, true), (0.0, 1.0));
        assert_eq!(range(5.0, 5.0, false), (4.5, 5.5));
    }
}
