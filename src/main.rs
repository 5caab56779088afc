fn main() -> std::process::ExitCode {
    oa_hook::main()
}
