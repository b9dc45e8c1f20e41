//! The scorecard's sign-in page: one field, the tenant's API key, posted to
//! `/coverage/sign-in`, which keeps it in an HttpOnly cookie.

use maud::html;

use super::layout::{Head, document};

pub fn sign_in_page(error: Option<&str>) -> String {
    let body = html! {
        main #main .gone {
            p.brand { "causeway · coverage scorecard" }
            h1 { "Sign in" }
            p { "Enter your workspace's API key to see its coverage. The key stays in a cookie of this browser "
                "(HttpOnly, SameSite=Strict) until you sign out." }
            @if let Some(error) = error { p.error role="alert" { (error) } }
            form.signin method="post" action="/coverage/sign-in" {
                label for="key" { "API key" }
                input #key type="password" name="key" autocomplete="current-password" required;
                button type="submit" { "Sign in" }
            }
        }
    };
    let head = Head {
        title: "Sign in — causeway coverage",
        description: "Sign in to the coverage scorecard",
        url: None,
    };
    document(&head, false, body).into_string()
}
