// A plain HTTP/1.1 client over a real loopback socket, for tests of the metrics endpoints.
#pragma once

#include <string>

namespace fxmesh::testing {

// A client socket connected to 127.0.0.1:`port`, closed on destruction. Reads time out after
// longer than the metrics endpoint's request timeout, so its 408 arrives first.
class HttpClient {
 public:
  explicit HttpClient(int port);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  bool connected() const { return connected_; }
  // Sends all of `data` (REQUIREs success).
  void Send(const std::string& data);
  // Everything the server sends until it closes the connection.
  std::string ReadAll();

 private:
  int fd_;
  bool connected_ = false;
};

struct HttpResponse {
  std::string status_line;
  std::string headers;  // Each "Name: value\r\n".
  std::string body;
};

// Sends `request` as is and reads the whole response.
HttpResponse HttpExchange(int port, const std::string& request);
// GET `path`.
HttpResponse HttpGet(int port, const std::string& path);

}  // namespace fxmesh::testing
