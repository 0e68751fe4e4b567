fn main() -> std::process::ExitCode {
    route::run(std::env::args_os())
}
