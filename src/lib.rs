//! lambda-loop
