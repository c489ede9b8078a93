//! `serve --config FILE`: a TOML file whose keys are `serve`'s flags, below the command line
//! and `ROUTEGUIDE_*` variables and above the defaults; and `--print-config`.
//!
//! The file is read into the flags it stands for, placed before the command line's own,
//! so clap parses and validates every value in one place and the last occurrence of a flag
//! (the command line's) wins. A key whose `ROUTEGUIDE_*` variable is set is left out, so
//! the variable wins over the file.

use std::ffi::OsString;
use std::path::Path;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command, CommandFactory, FromArgMatches, Parser};

use super::{Cli, UsageError};

/// Returns the parsed command line with `serve --config FILE` read in.
///
/// For `serve --print-config`, prints the effective configuration and exits 0. Other
/// command-line errors exit as clap exits (2, or 0 for `--help`).
///
/// # Errors
/// A [`UsageError`] naming the config file and, where one is at fault, its key.
pub fn parse_command_line() -> Result<Cli, UsageError> {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let cli = Cli::parse_from(&argv);
    let super::Command::Serve(args) = &cli.command else {
        return Ok(cli);
    };
    if args.config.is_none() && !args.print_config {
        return Ok(cli);
    }
    let mut root = Cli::command();
    root.build();
    let Some(serve) = root.find_subcommand("serve") else {
        return Ok(cli);
    };
    let file = match &args.config {
        Some(path) => read(path, serve)?,
        None => FileArguments {
            arguments: Vec::new(),
            keys: Vec::new(),
        },
    };
    // The file's flags go right after `serve`, before the command line's own.
    let at = argv
        .iter()
        .position(|word| word == "serve")
        .map_or(argv.len(), |i| i + 1);
    let merged: Vec<OsString> = argv[..at]
        .iter()
        .chain(&file.arguments)
        .chain(&argv[at..])
        .cloned()
        .collect();
    let matches = root
        .clone()
        .try_get_matches_from(&merged)
        .unwrap_or_else(|error| error.exit());
    if let Some(serve_matches) = matches.subcommand_matches("serve")
        && serve_matches.get_flag("print_config")
    {
        // The command line alone tells a flag typed there from one the file supplied.
        let typed = root
            .clone()
            .try_get_matches_from(&argv)
            .unwrap_or_else(|error| error.exit());
        let typed = typed.subcommand_matches("serve").unwrap_or(serve_matches);
        let from_file: Vec<String> = file
            .keys
            .iter()
            .filter(|key| {
                let id = serve
                    .get_arguments()
                    .find(|arg| arg.get_long() == Some(key.as_str()))
                    .map(|arg| arg.get_id().as_str().to_owned());
                id.is_none_or(|id| typed.value_source(&id) != Some(ValueSource::CommandLine))
            })
            .cloned()
            .collect();
        print!("{}", effective(serve, serve_matches, &from_file));
        std::process::exit(0);
    }
    Cli::from_arg_matches(&matches).map_err(|error| UsageError(error.to_string()))
}

/// The flags `FILE` stands for, and the keys they came from.
pub struct FileArguments {
    /// `--flag value` pairs (or a lone `--flag` for switches), in the file's order.
    pub arguments: Vec<OsString>,
    /// The flags (long names) the file set, as the effective configuration reports them.
    pub keys: Vec<String>,
}

/// Reads `path` as the configuration of `serve` (whose clap definition is `serve`).
///
/// Keys are `serve`'s long flag names, with `-` or `_` between words; a table groups keys
/// under a prefix (`[tls]` then `cert = ...` is `tls-cert`). Values are strings, numbers,
/// booleans (a switch is set by `true`) or arrays (a repeatable flag).
///
/// # Errors
/// A [`UsageError`] naming the file: unreadable or invalid TOML (with line and column), an
/// unknown key, a value of the wrong kind, or a value the flag refuses (naming the key).
pub fn read(path: &Path, serve: &Command) -> Result<FileArguments, UsageError> {
    let shown = path.display();
    let text = std::fs::read_to_string(path)
        .map_err(|error| UsageError(format!("cannot read config file {shown}: {error}")))?;
    let table: toml::Table = text
        .parse()
        .map_err(|error: toml::de::Error| UsageError(format!("config file {shown}: {error}")))?;
    let mut found = FileArguments {
        arguments: Vec::new(),
        keys: Vec::new(),
    };
    for (key, value) in flatten(&table) {
        let flag = key.replace('_', "-");
        let Some(arg) = serve
            .get_arguments()
            .find(|arg| arg.get_long() == Some(flag.as_str()))
            .filter(|_| !matches!(flag.as_str(), "config" | "print-config" | "help"))
        else {
            return Err(UsageError(format!(
                "config file {shown}: unknown key `{key}`"
            )));
        };
        let overridden = arg
            .get_env()
            .and_then(std::env::var_os)
            .is_some_and(|value| !value.is_empty());
        if overridden {
            continue;
        }
        let arguments = flag_arguments(&flag, arg.get_action(), value)
            .map_err(|kind| UsageError(format!("config file {shown}: key `{key}`: {kind}")))?;
        // Each value on its own, so that an error names its key.
        serve
            .clone()
            .no_binary_name(true)
            .try_get_matches_from(&arguments)
            .map_err(|error| {
                let message = error.kind().as_str().unwrap_or("invalid value").to_owned();
                let detail = error.to_string();
                let detail = detail.lines().next().unwrap_or(&message);
                let detail = detail.strip_prefix("error: ").unwrap_or(detail);
                UsageError(format!("config file {shown}: key `{key}`: {detail}"))
            })?;
        found.arguments.extend(arguments);
        found.keys.push(flag);
    }
    Ok(found)
}

/// Returns the `(key, value)` pairs of `table`, a table's keys prefixed with its name.
fn flatten(table: &toml::Table) -> Vec<(String, &toml::Value)> {
    let mut pairs = Vec::new();
    for (key, value) in table {
        match value {
            toml::Value::Table(inner) => {
                for (inner_key, inner_value) in flatten(inner) {
                    pairs.push((format!("{key}-{inner_key}"), inner_value));
                }
            }
            value => pairs.push((key.clone(), value)),
        }
    }
    pairs
}

/// Returns the command-line words for `flag` set to `value`, or what kind of value it
/// wanted.
fn flag_arguments(
    flag: &str,
    action: &ArgAction,
    value: &toml::Value,
) -> Result<Vec<OsString>, &'static str> {
    let switch = matches!(action, ArgAction::SetTrue | ArgAction::SetFalse);
    let word = |value: &toml::Value| match value {
        toml::Value::String(text) => Ok(text.clone()),
        toml::Value::Integer(number) => Ok(number.to_string()),
        toml::Value::Float(number) => Ok(number.to_string()),
        toml::Value::Boolean(flag) => Ok(flag.to_string()),
        _ => Err("expected a string, a number or a boolean"),
    };
    let long = format!("--{flag}");
    match value {
        toml::Value::Boolean(on) if switch => Ok(if *on { vec![long.into()] } else { vec![] }),
        _ if switch => Err("expected true or false"),
        toml::Value::Array(items) if matches!(action, ArgAction::Append) => {
            let mut words = Vec::new();
            for item in items {
                words.push(OsString::from(&long));
                words.push(word(item)?.into());
            }
            Ok(words)
        }
        toml::Value::Array(_) => Err("expected one value, not an array"),
        value => Ok(vec![long.into(), word(value)?.into()]),
    }
}

/// Returns the effective configuration of `serve` as TOML that `--config` reads back:
/// every flag with its value and, in a comment, where the value came from. Secrets are
/// masked: the password of a URL (`--notes`) never shows.
pub fn effective(serve: &Command, matches: &ArgMatches, from_file: &[String]) -> String {
    let mut text = String::from(
        "# effective configuration of `routeguide serve`\n\
         # precedence: command line, then ROUTEGUIDE_* variables, then --config, then defaults\n",
    );
    for arg in serve.get_arguments() {
        let Some(long) = arg.get_long() else { continue };
        if matches!(long, "config" | "print-config" | "help" | "version") {
            continue;
        }
        let id = arg.get_id().as_str();
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) if from_file.iter().any(|key| key == long) => {
                "config file".to_owned()
            }
            Some(ValueSource::CommandLine) => "command line".to_owned(),
            Some(ValueSource::EnvVariable) => match arg.get_env() {
                Some(name) => format!("environment ({})", name.to_string_lossy()),
                None => "environment".to_owned(),
            },
            Some(ValueSource::DefaultValue) => "default".to_owned(),
            _ => "not set".to_owned(),
        };
        let values: Vec<String> = matches
            .get_raw(id)
            .map(|raw| raw.map(|v| mask_password(&v.to_string_lossy())).collect())
            .unwrap_or_default();
        let value = match values.as_slice() {
            [] if source == "not set" => {
                text.push_str(&format!("# {long} is not set\n"));
                continue;
            }
            [one] if one.parse::<i64>().is_ok() || one == "true" || one == "false" => one.clone(),
            [one] => toml_string(one),
            many => format!(
                "[{}]",
                many.iter()
                    .map(|v| toml_string(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        text.push_str(&format!("{long} = {value}  # {source}\n"));
    }
    text
}

/// Returns `text` as a TOML basic string.
fn toml_string(text: &str) -> String {
    toml::Value::String(text.to_owned()).to_string()
}

/// Returns `text` with the password of a `scheme://user:password@host` URL replaced by `***`.
fn mask_password(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let Some((user_info, host)) = rest.split_once('@') else {
        return text.to_owned();
    };
    match user_info.split_once(':') {
        Some((user, _password)) => format!("{scheme}://{user}:***@{host}"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_url_passwords_only() {
        assert_eq!(
            mask_password("postgres://app:s3cret@db:5432/notes"),
            "postgres://app:***@db:5432/notes"
        );
        assert_eq!(
            mask_password("postgres://app@db/notes"),
            "postgres://app@db/notes"
        );
        assert_eq!(mask_password("memory:"), "memory:");
        assert_eq!(mask_password("./notes.db"), "./notes.db");
    }

    #[test]
    fn tables_prefix_their_keys() {
        let table: toml::Table = "grace = \"5s\"\n[tls]\ncert = \"a.pem\"\n".parse().unwrap();
        let keys: Vec<String> = flatten(&table).into_iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["grace", "tls-cert"]);
    }
}
