//! The run's clock. `scripts/test` runs the suite a second time a year ahead (faketime, with
//! `DEPBADGE_TEST_CLOCK_AHEAD_DAYS=365`); PostgreSQL keeps the real time. If the clock did not
//! move (a runner variable for another target, faketime missing), that run would silently be a
//! second run at today's date: this test makes it fail instead.

use sqlx::PgPool;

#[sqlx::test(migrations = false)]
async fn the_tests_run_at_the_time_the_run_says(pool: PgPool) {
    let database_now: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    let ahead = chrono::Utc::now() - database_now;
    let expected_days: i64 =
        std::env::var("DEPBADGE_TEST_CLOCK_AHEAD_DAYS")
            .ok()
            .map_or(0, |days| {
                days.parse().unwrap_or_else(|_| {
                    panic!("DEPBADGE_TEST_CLOCK_AHEAD_DAYS={days:?} is not a number")
                })
            });
    // Whole days: the two clocks are read a moment apart, never a day.
    let ahead_days = (ahead.num_seconds() as f64 / 86_400.0).round() as i64;
    assert_eq!(
        ahead_days, expected_days,
        "the tests' clock is {ahead} ahead of the database's; the run expects {expected_days} days"
    );
}
