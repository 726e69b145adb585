#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "common/limits.h"

namespace fxmesh::testing {

HttpClient::HttpClient(int port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
  REQUIRE(fd_ >= 0);
  timeval timeout{static_cast<time_t>(limits::kMetricsRequestTimeoutMs / 1000 + 10), 0};
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
}

HttpClient::~HttpClient() { close(fd_); }

void HttpClient::Send(const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    const ssize_t n = send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    REQUIRE(n > 0);
    sent += static_cast<size_t>(n);
  }
}

std::string HttpClient::ReadAll() {
  std::string received;
  char buffer[4096];
  ssize_t n;
  while ((n = recv(fd_, buffer, sizeof(buffer), 0)) > 0) received.append(buffer, n);
  return received;
}

HttpResponse HttpExchange(int port, const std::string& request) {
  HttpClient client(port);
  REQUIRE(client.connected());
  client.Send(request);
  const std::string raw = client.ReadAll();
  const size_t status_end = raw.find("\r\n");
  const size_t head_end = raw.find("\r\n\r\n");
  REQUIRE(status_end != std::string::npos);
  REQUIRE(head_end != std::string::npos);
  return {raw.substr(0, status_end), raw.substr(status_end + 2, head_end - status_end),
          raw.substr(head_end + 4)};
}

HttpResponse HttpGet(int port, const std::string& path) {
  return HttpExchange(port, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: localhost\r\n\r\n"));
}

}  // namespace fxmesh::testing
