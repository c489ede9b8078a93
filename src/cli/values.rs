//! Parsers of option values (durations, counts, fractions, addresses), so that clap rejects a
//! bad value with exit code 2 and a message naming the option.

use std::str::FromStr;
use std::time::Duration;

/// Returns a duration from `10s`, `250ms`, `1m` or plain seconds such as `2.5`; zero allowed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).map_err(|e| format!("{text:?}: {e}"));
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))
}

/// Returns a duration like [`parse_duration`] that is longer than zero (deadlines, windows).
pub fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text)?;
    if duration.is_zero() {
        return Err("must be longer than zero".to_owned());
    }
    Ok(duration)
}

/// Returns a whole number of at least 1.
pub fn parse_positive<T>(text: &str) -> Result<T, String>
where
    T: FromStr + Default + PartialEq,
{
    let value: T = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a whole number"))?;
    if value == T::default() {
        return Err("must be at least 1".to_owned());
    }
    Ok(value)
}

/// Returns a fraction in `[0, 1]`.
pub fn parse_fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err("must be a fraction between 0 and 1".to_owned()),
    }
}

/// Returns a finite number greater than zero (sizes in degrees).
pub fn parse_positive_size(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if value.is_finite() && value > 0.0 => Ok(value),
        _ => Err("must be a number greater than zero".to_owned()),
    }
}

/// Returns a server address (`host:port`, `http://host:port` or `https://host:port`),
/// refusing other schemes. Whether TLS is used is decided with the TLS flags.
pub fn parse_server_address(text: &str) -> Result<String, String> {
    match text.split_once("://") {
        None => Ok(text.to_owned()),
        Some((scheme, _))
            if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") =>
        {
            Ok(text.to_owned())
        }
        Some((scheme, _)) => Err(format!(
            "unknown scheme {scheme:?}; use host:port, http://host:port or https://host:port"
        )),
    }
}

/// Returns the address `serve` listens on as typed; [`listen_parts`] splits off a scheme.
pub fn parse_listen_address(text: &str) -> Result<String, String> {
    parse_server_address(text)
}

/// Returns whether `address` names `https://` (`Some(true)`), `http://` (`Some(false)`) or
/// no scheme (`None`), and the address without its scheme.
pub fn listen_parts(address: &str) -> (Option<bool>, &str) {
    match address.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.eq_ignore_ascii_case("https")), rest),
        None => (None, address),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("2.5"), Ok(Duration::from_millis(2500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("-1").is_err());
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_positive_duration("1ns"), Ok(Duration::from_nanos(1)));
        for zero in ["0", "0s", "0.0", "0ms"] {
            assert_eq!(
                parse_positive_duration(zero),
                Err("must be longer than zero".to_owned())
            );
        }
    }

    #[test]
    fn counts_fractions_and_sizes_reject_zero_and_junk() {
        assert_eq!(parse_positive::<usize>("32"), Ok(32));
        assert_eq!(parse_positive::<u32>(" 1 "), Ok(1));
        assert_eq!(
            parse_positive::<usize>("0"),
            Err("must be at least 1".to_owned())
        );
        assert!(parse_positive::<usize>("-1").unwrap_err().contains("whole"));
        assert!(parse_positive::<u32>("4294967296").is_err());
        assert_eq!(parse_fraction("0"), Ok(0.0));
        assert_eq!(parse_fraction("1"), Ok(1.0));
        assert!(parse_fraction("2").is_err());
        assert!(parse_fraction("NaN").is_err());
        assert_eq!(parse_positive_size("0.01"), Ok(0.01));
        for bad in ["0", "-1", "inf", "NaN", "wide"] {
            assert!(parse_positive_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn addresses_take_http_and_https_and_refuse_other_schemes() {
        for address in ["127.0.0.1:1", "HTTP://h:1", "https://h:1", "Https://h:1"] {
            assert_eq!(parse_server_address(address), Ok(address.to_owned()));
        }
        assert!(
            parse_server_address("grpc://h:1")
                .unwrap_err()
                .contains("\"grpc\"")
        );
        assert_eq!(listen_parts("http://0.0.0.0:1"), (Some(false), "0.0.0.0:1"));
        assert_eq!(listen_parts("HTTPS://0.0.0.0:1"), (Some(true), "0.0.0.0:1"));
        assert_eq!(listen_parts("0.0.0.0:1"), (None, "0.0.0.0:1"));
        assert!(parse_listen_address("unix://x").is_err());
    }
}
