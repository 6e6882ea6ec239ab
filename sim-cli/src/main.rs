fn main() {
    println!("sim {}", env!("CARGO_PKG_VERSION"));
}
