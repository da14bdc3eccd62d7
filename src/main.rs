fn main() {
    println!("overworld-secrets");
}
