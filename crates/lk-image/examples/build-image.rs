//! Stand-alone `lustrekit image build`, for use before the CLI is wired:
//! `cargo run -p lk-image --example build-image -- [--force] [--output PATH]`.

use clap::Parser;

#[derive(Parser)]
#[command(about = "Build lustrekit's Debian 12 guest base image")]
struct Cli {
    #[command(flatten)]
    image: lk_image::ImageArgs,
}

fn main() {
    let cli = Cli::parse();
    match lk_image::build(&cli.image) {
        Ok(path) => println!("{}", path.display()),
        Err(e) => {
            eprintln!("build-image: {e:#}");
            std::process::exit(1);
        }
    }
}
