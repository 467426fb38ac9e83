//! Shared test support: fresh databases per test, a real server on a random port.
#![allow(dead_code)]

pub mod db;
