//! `sqlx::migrate!` embeds `migrations/` at compile time, but cargo does not know the macro read
//! that folder: without this, adding a migration would not rebuild the binary that applies it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
