// The keys tests/fixtures' webhook payloads were signed with (see tests/fixtures/SIGNATURES.md).
#pragma once

namespace salvo::test {

inline constexpr char kMailgunKey[] = "fixture-mailgun-signing-key-do-not-use-0001";
inline constexpr char kSendGridKey[] =
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+"
    "2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";

}  // namespace salvo::test
