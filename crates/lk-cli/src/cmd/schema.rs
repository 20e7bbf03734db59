use std::io::Write as _;

pub fn run() -> anyhow::Result<()> {
    let schema = serde_json::to_string_pretty(&lk_model::json_schema())?;
    writeln!(std::io::stdout(), "{schema}")?;
    Ok(())
}
