//! Prints the comparison of the agent's decoding with gpsd's for every log, as a Markdown table:
//! `cargo run -p convoy-agent --example gpsd_table [-- --details]`.

#[path = "../tests/oracle/mod.rs"]
mod oracle;

fn main() {
    let details = std::env::args().any(|a| a == "--details");
    let now = chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00Z").unwrap().to_utc();
    println!("| log | gpsd epochs | matched | missing | extra | different | why we keep the difference |");
    println!("|---|---:|---:|---:|---:|---:|---|");
    let (mut total, mut matched) = (0, 0);
    for log in oracle::gpsd_logs() {
        let expected = oracle::gpsd_epochs(&oracle::chk_of(&log));
        let fixes = oracle::agent_fixes(&std::fs::read(&log).unwrap(), now);
        let c = oracle::compare(&expected, &fixes);
        total += c.epochs;
        matched += c.matched;
        let name = log.strip_prefix(oracle::data_dir()).unwrap().display().to_string();
        let why = oracle::KEPT_DIFFERENCES.iter().find(|k| k.0 == name).map_or("", |k| k.4);
        println!(
            "| {name} | {} | {} | {} | {} | {} | {why} |",
            c.epochs,
            c.matched,
            c.missing.len(),
            c.extra.len(),
            c.different.len()
        );
        if details {
            for line in c.missing.iter().take(3) {
                println!("    missing {line}");
            }
            for line in c.extra.iter().take(3) {
                println!("    extra {line}");
            }
            for line in c.different.iter().take(3) {
                println!("    different {line}");
            }
        }
    }
    println!("| **all** | {total} | {matched} | | | | |");
}
