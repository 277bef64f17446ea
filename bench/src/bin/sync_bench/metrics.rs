//! Reading the services' Prometheus text: request time per route
//! (`http_request_duration_seconds`) and the sum of one metric's samples.

use std::collections::BTreeMap;

/// Per-route `http_request_duration_seconds` (sum, count) of one process,
/// keyed `METHOD route`.
pub type Routes = BTreeMap<String, (f64, f64)>;

/// The request time per route in `text`.
pub fn route_times(text: &str) -> Routes {
    let mut routes = Routes::new();
    for line in text.lines() {
        let (is_sum, rest) = match (
            line.strip_prefix("http_request_duration_seconds_sum{"),
            line.strip_prefix("http_request_duration_seconds_count{"),
        ) {
            (Some(rest), _) => (true, rest),
            (_, Some(rest)) => (false, rest),
            _ => continue,
        };
        let Some((labels, value)) = rest.rsplit_once("} ") else {
            continue;
        };
        let label = |key: &str| {
            labels
                .split(',')
                .find_map(|l| l.strip_prefix(&format!("{key}=\"")))
                .map(|v| v.trim_end_matches('"').to_owned())
        };
        let (Some(method), Some(route), Ok(value)) =
            (label("method"), label("route"), value.trim().parse::<f64>())
        else {
            continue;
        };
        let entry = routes.entry(format!("{method} {route}")).or_default();
        if is_sum {
            entry.0 += value
        } else {
            entry.1 += value
        }
    }
    routes
}

/// The sum of the samples of `name` whose labels contain `label`.
pub fn metric(text: &str, name: &str, label: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(label))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "\
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_sum{method=\"POST\",route=\"/v1/sync/batch\",status=\"200\"} 1.5
http_request_duration_seconds_count{method=\"POST\",route=\"/v1/sync/batch\",status=\"200\"} 3
http_request_duration_seconds_sum{method=\"POST\",route=\"/v1/sync/batch\",status=\"409\"} 0.5
http_request_duration_seconds_count{method=\"POST\",route=\"/v1/sync/batch\",status=\"409\"} 1
sync_runs_total{store=\"STORE-001\",outcome=\"ok\"} 4
sync_runs_total{store=\"STORE-002\",outcome=\"ok\"} 2
sync_runs_total{store=\"STORE-002\",outcome=\"error\"} 7
";

    #[test]
    fn adds_up_a_route_over_statuses() {
        let routes = route_times(TEXT);
        assert_eq!(routes.len(), 1);
        assert_eq!(routes["POST /v1/sync/batch"], (2.0, 4.0));
    }

    #[test]
    fn sums_the_matching_samples() {
        assert_eq!(metric(TEXT, "sync_runs_total", "outcome=\"ok\""), 6.0);
    }
}
