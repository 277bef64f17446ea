//! `GET /status`: the operators' status page, server-rendered HTML with
//! inline CSS and no script, refreshing itself every 5 s. The figures come
//! from [`crate::projections::status`]; this module only renders them, and
//! escapes every text value it puts into the page.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use service_infra::{ApiError, database_error};

use crate::projections::status::{
    self as figures, PROPAGATION_WINDOW_MINUTES, Propagation, Refusal, Status, StockCell, StoreSync,
};
use crate::state::AppState;

/// A store's quantity of a SKU at or below this many units is highlighted.
pub const LOW_STOCK_UNITS: i64 = 5;

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1d2330;background:#f5f6f8;margin:0;padding:20px 24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:0 0 8px}
section{background:#fff;border:1px solid #dde1e7;border-radius:6px;padding:16px 20px;margin:16px 0;overflow-x:auto}
.meta,.hint{color:#5b6475;font-size:13px;margin:4px 0}
.note{background:#fff8e1;border-color:#f0c36d}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid #e6e9ee;vertical-align:top}
td{white-space:nowrap}th{background:#eef1f5;font-weight:600}tbody tr:nth-child(even){background:#fafbfc}
td.num,th.num{text-align:right}#refusals table{font-size:14px}
td.low{background:#fde2e1;color:#9b1c1c;font-weight:700}
.tag{font-size:11px;text-transform:uppercase;margin-left:4px}
.unknown{color:#8a6d1f;font-style:italic;white-space:normal}.never{color:#8a93a3}
code{background:#eef1f5;padding:0 3px;border-radius:3px;font-size:13px}
.figure{font-size:20px;font-weight:700;margin-right:18px}
";

/// The operators' status page. It needs no token: like `/metrics`, on
/// central's port, it shows the aggregate figures an operator needs (each
/// store's last sync as central sees it, propagation percentiles, recent
/// refusals, stock per SKU and store) and changes nothing.
#[tracing::instrument(name = "status_page", skip_all)]
pub async fn page(State(state): State<AppState>) -> Result<Response, ApiError> {
    let status = figures::load(state.ledger.pool())
        .await
        .map_err(database_error)?;
    Ok(([(header::CACHE_CONTROL, "no-store")], Html(render(&status))).into_response())
}

/// The whole page.
pub fn render(status: &Status) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"refresh\" content=\"5\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>Central status — inventory ledger</title><style>{STYLE}</style></head><body>\
         <h1>Central status</h1><p class=\"meta\">Read from central's database at {now}; \
         this page refreshes every 5 s.</p>{blind}{stores}{propagation}{refusals}{stock}</body></html>\n",
        now = time(status.now),
        blind = blind_spot(),
        stores = stores(status),
        propagation = propagation(&status.propagation),
        refusals = refusals(status),
        stock = stock(status),
    )
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn blind_spot() -> &'static str {
    "<section id=\"blind-spot\" class=\"note\"><h2>What central cannot see</h2>\
     <p>Central only knows the changes that reached it. Changes still <strong>pending at a \
     store</strong> (store offline, broker or worker down, a retry waiting) and the <strong>age \
     of the oldest of them</strong> are not visible here: an old “last store change” may mean an \
     idle store or a store cut off. Read them from each store's <code>/metrics</code>: \
     <code>store_pending_changes</code> and <code>store_oldest_pending_age_seconds</code> \
     (the worker's <code>/metrics</code> shows failed syncs: \
     <code>sync_runs_total{outcome=\"failed\"}</code>).</p></section>"
}

fn stores(status: &Status) -> String {
    let rows: String = status
        .stores
        .iter()
        .map(|s| store_row(s, status.now))
        .collect();
    let body = if rows.is_empty() {
        "<p>No store is registered at central.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Store</th><th>Last store change applied by central</th>\
             <th>Last head-office change</th><th>Pending at the store \
             (<code>store_pending_changes</code>)</th><th>Oldest pending \
             (<code>store_oldest_pending_age_seconds</code>)</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    format!(
        "<section id=\"stores\"><h2>Stores: last completed sync central can see</h2>{body}</section>"
    )
}

fn store_row(store: &StoreSync, now: DateTime<Utc>) -> String {
    const HIDDEN: &str = "<td class=\"unknown\">not visible to central</td>";
    format!(
        "<tr data-store=\"{id}\"><td>{id}</td><td>{last}</td><td>{head}</td>{HIDDEN}{HIDDEN}</tr>",
        id = escape(&store.store_id),
        last = when(store.last_store_change, now),
        head = when(store.last_head_office_change, now),
    )
}

fn propagation(p: &Propagation) -> String {
    let body = match (p.changes, p.p50_seconds, p.p99_seconds) {
        (changes, Some(p50), Some(p99)) if changes > 0 => format!(
            "<p><span class=\"figure\">p50 <span id=\"p50\">{}</span></span>\
             <span class=\"figure\">p99 <span id=\"p99\">{}</span></span>\
             over <span id=\"propagation-count\">{changes}</span> store change(s).</p>",
            seconds(p50),
            seconds(p99),
        ),
        _ => format!(
            "<p id=\"propagation-empty\">no store changes in the last \
             {PROPAGATION_WINDOW_MINUTES} minutes</p>"
        ),
    };
    format!(
        "<section id=\"propagation\"><h2>Store → central propagation, last \
         {PROPAGATION_WINDOW_MINUTES} minutes</h2>{body}<p class=\"hint\">From the change's \
         <code>occurred_at</code> (store clock) to central's <code>recorded_at</code> (central \
         clock), for store changes central applied in the window: it includes waiting at the \
         store and clock skew, and leaves out changes that have not arrived yet.</p></section>"
    )
}

fn refusals(status: &Status) -> String {
    let rows: String = status.refusals.iter().map(refusal_row).collect();
    let body = if rows.is_empty() {
        "<p>No operation refused.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Recorded</th><th>Store</th><th>Operation id</th><th>SKU</th>\
             <th class=\"num\">Delta</th><th class=\"num\">Expected version</th><th>Outcome</th>\
             <th>Central then</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    format!(
        "<section id=\"refusals\"><h2>Recent conflicts</h2><p class=\"hint\">The latest {} \
         operations central refused for good (<code>version_conflict</code>, \
         <code>insufficient_stock</code>), with central's figures when it refused them.</p>\
         {body}</section>",
        figures::RECENT_CONFLICTS
    )
}

fn refusal_row(r: &Refusal) -> String {
    format!(
        "<tr><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{:+}</td>\
         <td class=\"num\">{}</td><td>{}</td><td>version {}, {} units</td></tr>",
        time(r.recorded_at),
        escape(&r.store_id),
        r.operation_id,
        escape(&r.sku),
        r.delta,
        r.expected_version
            .map_or_else(|| "—".to_owned(), |v| v.to_string()),
        escape(&r.outcome),
        r.version,
        r.quantity,
    )
}

fn stock(status: &Status) -> String {
    let stores: Vec<&str> = status.stores.iter().map(|s| s.store_id.as_str()).collect();
    let head: String = stores
        .iter()
        .map(|s| format!("<th class=\"num\">{}</th>", escape(s)))
        .collect();
    let mut rows = String::new();
    for cells in status.stock.chunk_by(|a, b| a.sku == b.sku) {
        rows.push_str(&stock_row(cells, &stores));
    }
    format!(
        "<section id=\"stock\"><h2>Stock per SKU</h2><p class=\"hint\">Chain-wide total and each \
         store's quantity as central knows them (changes pending at stores not included). A store \
         quantity at or below <strong id=\"low-stock-threshold\">{LOW_STOCK_UNITS} units</strong> \
         is highlighted <span class=\"tag\">low</span>.</p><table><thead><tr><th>SKU</th>\
         <th>Name</th><th class=\"num\">Total</th>{head}</tr></thead><tbody>{rows}</tbody>\
         </table></section>"
    )
}

/// One SKU's row: `cells` are its rows of `central_stock`, by store.
fn stock_row(cells: &[StockCell], stores: &[&str]) -> String {
    let Some(first) = cells.first() else {
        return String::new();
    };
    let quantities: String = stores
        .iter()
        .map(|store| match cells.iter().find(|c| c.store_id == *store) {
            Some(c) if c.quantity <= LOW_STOCK_UNITS => format!(
                "<td class=\"num low\" data-store=\"{}\">{}<span class=\"tag\">low</span></td>",
                escape(store),
                c.quantity
            ),
            Some(c) => format!(
                "<td class=\"num\" data-store=\"{}\">{}</td>",
                escape(store),
                c.quantity
            ),
            None => "<td class=\"num never\">—</td>".to_owned(),
        })
        .collect();
    format!(
        "<tr data-sku=\"{sku}\"><td>{sku}</td><td>{name}</td><td class=\"num\">{total}</td>{quantities}</tr>",
        sku = escape(&first.sku),
        name = escape(&first.name),
        total = first.total,
    )
}

fn time(at: DateTime<Utc>) -> String {
    format!(
        "<time datetime=\"{}\">{}</time>",
        at.to_rfc3339(),
        at.format("%Y-%m-%d %H:%M:%S UTC")
    )
}

/// A time and how long before `now` it was, or "never".
fn when(at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> String {
    let Some(at) = at else {
        return "<span class=\"never\">never</span>".to_owned();
    };
    let age = (now - at).num_milliseconds().max(0) as f64 / 1000.0;
    format!(
        "{} <span class=\"hint\">({} ago)</span>",
        time(at),
        seconds(age)
    )
}

/// Seconds in a readable unit, e.g. `0.84 s`, `12.5 min`, `6.1 d`.
fn seconds(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude < 60.0 {
        format!("{value:.2} s")
    } else if magnitude < 3600.0 {
        format!("{:.1} min", value / 60.0)
    } else if magnitude < 86_400.0 {
        format!("{:.1} h", value / 3600.0)
    } else {
        format!("{:.1} d", value / 86_400.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_covers_the_five_html_characters() {
        assert_eq!(
            escape(r#"<a href="x">Tom & Jerry's</a>"#),
            "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;"
        );
    }

    #[test]
    fn seconds_pick_a_readable_unit() {
        assert_eq!(seconds(0.842), "0.84 s");
        assert_eq!(seconds(90.0), "1.5 min");
        assert_eq!(seconds(-7200.0), "-2.0 h");
    }
}
