// modify-run: starts N local worker processes of a data-parallel program (as torchrun does),
// with RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT set; forwards their output with
// a "[rank k] " prefix; if one fails, stops the others and exits non-zero.
//
//   modify-run --nproc-per-node 2 [--master-port P] -- program args...
//   modify-run --nnodes 2 --node-rank 0 --nproc-per-node 2 --master-addr HOST --master-port P -- ...
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <modify/distributed/free_port.hpp>

namespace {

[[noreturn]] void usage(const std::string& problem) {
  std::fprintf(stderr,
               "modify-run: %s\n"
               "usage: modify-run --nproc-per-node N [--master-port P] [--master-addr A]\n"
               "                  [--nnodes M --node-rank R] -- program args...\n",
               problem.c_str());
  std::exit(2);
}

int parse_count(const char* flag, const char* text, int low, int high) {
  char* end = nullptr;
  long value = std::strtol(text, &end, 10);
  if (end == text || *end != '\0' || value < low || value > high)
    usage(std::string(flag) + " takes an integer in [" + std::to_string(low) + ", " + std::to_string(high) +
          "], not '" + text + "'");
  return static_cast<int>(value);
}

volatile sig_atomic_t interrupted = 0;
void on_signal(int signal) { interrupted = signal; }

struct Stream {
  int fd;
  FILE* out;
  std::string prefix, pending;
};

struct Worker {
  pid_t pid;
  int rank;
  bool running = true;
};

// Writes every complete line of `stream.pending` with the rank prefix (the rest at EOF).
void flush_lines(Stream& stream, bool at_eof) {
  std::size_t start = 0, newline;
  while ((newline = stream.pending.find('\n', start)) != std::string::npos) {
    std::fprintf(stream.out, "%s%.*s\n", stream.prefix.c_str(), static_cast<int>(newline - start),
                 stream.pending.data() + start);
    start = newline + 1;
  }
  stream.pending.erase(0, start);
  if (at_eof && !stream.pending.empty()) {
    std::fprintf(stream.out, "%s%s\n", stream.prefix.c_str(), stream.pending.c_str());
    stream.pending.clear();
  }
  std::fflush(stream.out);
}

}  // namespace

int main(int argc, char** argv) {
  int nproc = 0, nnodes = 1, node_rank = 0, port = -1;
  std::string master_addr = "127.0.0.1";
  int i = 1;
  for (; i < argc && std::strcmp(argv[i], "--") != 0; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc) usage(flag + " needs a value");
    const char* value = argv[++i];
    if (flag == "--nproc-per-node") nproc = parse_count("--nproc-per-node", value, 1, 1024);
    else if (flag == "--nnodes") nnodes = parse_count("--nnodes", value, 1, 1 << 20);
    else if (flag == "--node-rank") node_rank = parse_count("--node-rank", value, 0, 1 << 20);
    else if (flag == "--master-port") port = parse_count("--master-port", value, 1, 65535);
    else if (flag == "--master-addr") master_addr = value;
    else usage("unknown option " + flag);
  }
  if (i + 1 >= argc) usage("no program after '--'");
  if (nproc == 0) usage("--nproc-per-node is required");
  if (node_rank >= nnodes) usage("--node-rank must be below --nnodes");
  if (port < 0) {
    if (nnodes > 1) usage("--master-port is required with several nodes (all must agree on it)");
    try {
      port = modify::distributed::free_loopback_port();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "modify-run: %s\n", e.what());
      return 1;
    }
  }
  char** program = argv + i + 1;
  const int world = nnodes * nproc;

  struct sigaction action{};
  action.sa_handler = on_signal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);

  std::vector<Worker> workers;
  std::vector<Stream> streams;
  for (int local = 0; local < nproc; ++local) {
    const int rank = node_rank * nproc + local;
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) {
      std::perror("modify-run: pipe");
      return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
      std::perror("modify-run: fork");
      return 1;
    }
    if (pid == 0) {
      setpgid(0, 0);  // its own process group, so stopping it stops what it started
      dup2(out[1], STDOUT_FILENO);
      dup2(err[1], STDERR_FILENO);
      close(out[0]), close(out[1]), close(err[0]), close(err[1]);
      setenv("RANK", std::to_string(rank).c_str(), 1);
      setenv("LOCAL_RANK", std::to_string(local).c_str(), 1);
      setenv("WORLD_SIZE", std::to_string(world).c_str(), 1);
      setenv("LOCAL_WORLD_SIZE", std::to_string(nproc).c_str(), 1);
      setenv("MASTER_ADDR", master_addr.c_str(), 1);
      setenv("MASTER_PORT", std::to_string(port).c_str(), 1);
      execvp(program[0], program);
      std::fprintf(stderr, "cannot start %s: %s\n", program[0], std::strerror(errno));
      _exit(127);
    }
    close(out[1]), close(err[1]);
    const std::string prefix = "[rank " + std::to_string(rank) + "] ";
    streams.push_back({out[0], stdout, prefix, {}});
    streams.push_back({err[0], stderr, prefix, {}});
    workers.push_back({pid, rank});
  }

  int exit_code = 0;
  auto stop_requested = std::chrono::steady_clock::time_point::max();
  bool killed = false;
  auto stop_all = [&](const char* why) {
    if (stop_requested != std::chrono::steady_clock::time_point::max()) return;
    std::fprintf(stderr, "modify-run: %s; stopping the other ranks\n", why);
    stop_requested = std::chrono::steady_clock::now();
    for (const auto& w : workers)
      if (w.running) kill(-w.pid, SIGTERM);
  };

  std::size_t open_streams = streams.size(), running = workers.size();
  while (open_streams > 0 || running > 0) {
    std::vector<pollfd> fds;
    std::vector<Stream*> polled;
    for (auto& s : streams)
      if (s.fd >= 0) fds.push_back({s.fd, POLLIN, 0}), polled.push_back(&s);
    if (!fds.empty()) poll(fds.data(), fds.size(), 100);
    else std::this_thread::sleep_for(std::chrono::milliseconds(50));
    for (std::size_t k = 0; k < fds.size(); ++k) {
      if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buffer[4096];
      ssize_t n = read(fds[k].fd, buffer, sizeof buffer);
      if (n > 0) {
        polled[k]->pending.append(buffer, static_cast<std::size_t>(n));
        flush_lines(*polled[k], false);
      } else if (n == 0 || errno != EINTR) {
        flush_lines(*polled[k], true);
        close(polled[k]->fd);
        polled[k]->fd = -1;
        --open_streams;
      }
    }
    for (auto& w : workers) {
      int status = 0;
      if (!w.running || waitpid(w.pid, &status, WNOHANG) != w.pid) continue;
      w.running = false;
      --running;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      if (code != 0 && exit_code == 0) {
        exit_code = code;
        std::string why = "rank " + std::to_string(w.rank) + " (pid " + std::to_string(w.pid) + ") " +
                          (WIFEXITED(status) ? "exited with code " + std::to_string(code)
                                             : "was killed by signal " + std::to_string(WTERMSIG(status)));
        stop_all(why.c_str());
      }
    }
    if (interrupted && exit_code == 0) {
      exit_code = 128 + interrupted;
      stop_all("interrupted");
    }
    // Ranks that ignore SIGTERM for 5 s are killed.
    if (!killed && running > 0 && stop_requested != std::chrono::steady_clock::time_point::max() &&
        std::chrono::steady_clock::now() - stop_requested > std::chrono::seconds(5)) {
      killed = true;
      for (const auto& w : workers)
        if (w.running) kill(-w.pid, SIGKILL);
    }
  }
  return exit_code;
}
