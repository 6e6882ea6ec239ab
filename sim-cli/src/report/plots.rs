//! The "Plots" section: the run's figures (title and SVG, drawn from `samples/*.csv` by
//! the caller), each in a `<figure>`, or what to do when there are none.

use std::fmt::Write as _;

use super::html::{esc, note};

/// The section's HTML. The SVGs are the plotting code's own output and are inserted as
/// they are; titles are escaped.
pub fn section(figures: &[(String, String)], has_samples: bool) -> String {
    if figures.is_empty() {
        return note(if has_samples {
            "No plots: this build of sim draws none from the run's samples/ folder."
        } else {
            "No samples: run with <code>--sample 10ms</code> (or a <code>sample</code> \
             statement) for time series of the queues, links, TCP sockets and apps, plotted here."
        });
    }
    let mut h = String::new();
    if !has_samples {
        h.push_str(&note(
            "No samples: run with <code>--sample 10ms</code> (or a <code>sample</code> \
             statement) for time series of the queues, links, TCP sockets and apps; \
             below, what the captures show.",
        ));
    }
    for (i, (title, svg)) in figures.iter().enumerate() {
        let _ = write!(
            h,
            "<figure class=\"plot\" id=\"plot-{}\"><figcaption>{}</figcaption>{}\n</figure>\n",
            i + 1,
            esc(title),
            svg.trim()
        );
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_embedded_with_their_titles() {
        let h = section(
            &[("cwnd <S0>".into(), "<svg><path d=\"M0 0\"/></svg>\n".into())],
            true,
        );
        assert!(
            h.contains("<figcaption>cwnd &lt;S0&gt;</figcaption><svg><path d=\"M0 0\"/></svg>\n")
        );
        assert!(section(&[], false).contains("No samples: run with <code>--sample"));
        assert!(section(&[], true).contains("samples/"));
    }
}
