//! The process's arguments: `shoal-server [config-file | -] [--name value ...]`, as
//! redis-server takes them. clap handles `--help` and `--version`; every other option is a
//! config directive, read by the parameter table (`shoal_commands::config`), so the command
//! line, the config file and CONFIG SET accept the same names and values.

use clap::{Arg, ArgAction, Command};
use shoal_commands::config::{Config, file, table::PARAMS};

const USAGE: &str = "shoal-server [/path/to/redis.conf | -] [--name value ...]";

/// The options shoal acts on, one line each; every other redis.conf directive is accepted.
fn options_help() -> String {
    let mut s = String::from("Options (also redis.conf directives and CONFIG SET names):\n");
    for p in PARAMS.iter().filter(|p| p.field.is_some()) {
        let head = format!("  --{} <{}>", p.name, p.ty.hint());
        let default = match p.default {
            "" => String::new(),
            d => format!(" [{d}]"),
        };
        s.push_str(&head);
        s.push('\n');
        s.push_str(&wrap(&format!("{}{default}", p.doc), 6, 96));
    }
    s.push_str(
        "\nEvery other parameter of Redis 7.0's redis.conf is accepted (see README.md).\n\
         Examples:\n  shoal-server --port 7777\n  shoal-server /etc/redis/redis.conf --daemonize no\n",
    );
    s
}

/// `text` folded at `width` columns, every line indented by `indent`.
fn wrap(text: &str, indent: usize, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && indent + line.len() + 1 + w.len() > width {
            out.push_str(&format!("{:indent$}{line}\n", ""));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(&format!("{:indent$}{line}\n", ""));
    }
    out
}

fn command() -> Command {
    Command::new("shoal-server")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Redis-compatible, distributed, in-memory cache server")
        .override_usage(USAGE)
        .disable_version_flag(true)
        .arg(
            Arg::new("version")
                .short('v')
                .long("version")
                .action(ArgAction::Version)
                .help("Print the version"),
        )
        .arg(
            Arg::new("args")
                .num_args(0..)
                .trailing_var_arg(true)
                .allow_hyphen_values(true)
                .value_name("ARGS")
                .help("A config file, then --name value options"),
        )
        .after_help(options_help())
}

/// Parses the process arguments (program name first). `--help` and `--version` print and exit.
pub fn load(args: Vec<String>) -> Result<Config, String> {
    let first = args.get(1).map(String::as_str);
    // clap only sees the arguments when they ask for help or the version: everything else is
    // redis.conf syntax, which clap cannot describe (multi-word values, 190 names).
    if matches!(first, Some("-h" | "--help" | "-v" | "--version")) {
        match command().try_get_matches_from(&args[..2]) {
            Ok(_) => {}
            Err(e) => {
                let _ = e.print();
                std::process::exit(0);
            }
        }
    }
    file::load(args.get(1..).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_fits_a_terminal() {
        let help = command().render_long_help().to_string();
        for line in help.lines() {
            assert!(line.chars().count() <= 100, "too wide: {line}");
        }
        assert!(help.contains("--maxmemory-policy"));
    }

    /// README.md's parameter reference is the table's: regenerate with
    /// `SHOAL_BLESS=1 cargo test readme_parameter_reference`.
    #[test]
    fn readme_parameter_reference_matches_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
        let readme = std::fs::read_to_string(path).unwrap();
        let (start, end) = ("<!-- config-table:start -->\n", "<!-- config-table:end -->");
        let (Some(a), Some(b)) = (readme.find(start), readme.find(end)) else {
            panic!("README.md lacks the config-table markers");
        };
        let want = shoal_commands::config::table::markdown();
        let have = &readme[a + start.len()..b];
        if have != want {
            if std::env::var_os("SHOAL_BLESS").is_some() {
                let new = format!("{}{want}{}", &readme[..a + start.len()], &readme[b..]);
                std::fs::write(path, new).unwrap();
            } else {
                panic!(
                    "README.md's parameter reference is stale: run SHOAL_BLESS=1 cargo test readme_parameter_reference"
                );
            }
        }
    }

    #[test]
    fn options_and_file_reach_the_config() {
        let c = load(
            ["shoal-server", "--port", "7000", "--threads", "2"]
                .iter()
                .map(|s| s.to_string())
                .collect(),
        )
        .unwrap();
        assert_eq!((c.port, c.threads), (7000, 2));
    }
}
