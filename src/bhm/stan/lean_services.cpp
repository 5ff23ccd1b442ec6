// bhm's lean NUTS runner: Stan's own hmc_nuts_diag_e_adapt, as httpstan calls
// it, with the draws kept in memory.
//
// httpstan's services module (stan_services.cpp, next to this file in httpstan)
// sends every kept draw through a Unix socket as two JSON messages, one for the
// draw and one for the diagnostic writer's momenta and gradients. For chapter
// 5's study, whose fits sample a two-parameter posterior, writing and reading
// those messages took as long as the sampling itself (measured: 64 us per kept
// iteration against 27 us per warm-up iteration). This module calls the same
// service with the same arguments, seed and chain ids, and keeps the draws in
// a vector instead: the draws are the same numbers, bit for bit
// (tests/test_stan.py), without the JSON in between.
//
// Built by bhm.stan._pystan (lean_module) against httpstan's bundled Stan,
// with the model's C++ from httpstan's stanc and httpstan's compiler flags,
// and cached per program; nothing of httpstan's is changed.
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <stan/callbacks/interrupt.hpp>
#include <stan/callbacks/logger.hpp>
#include <stan/callbacks/writer.hpp>
#include <stan/io/array_var_context.hpp>
#include <stan/io/empty_var_context.hpp>
#include <stan/model/gradient.hpp>
#include <stan/model/log_prob_grad.hpp>
#include <stan/model/model_base.hpp>

// Stan's stan::model::gradient (stan/model/gradient.hpp), which NUTS calls for
// every leapfrog step, constructs a std::stringstream for the model's messages
// and copies it out twice to see whether it is empty. For the study's
// two-parameter program that was 12% of a fit's instructions (callgrind). This
// specialisation, declared before the sampler below instantiates the template,
// does the same with one stream per thread, emptied before each use: the same
// gradient, the same messages to the logger, the same draws (tests/test_stan.py
// compares them with httpstan's module bit for bit).
namespace stan {
namespace model {
template <>
inline void gradient<model_base>(const model_base &model, const Eigen::Matrix<double, Eigen::Dynamic, 1> &x, double &f,
                                 Eigen::Matrix<double, Eigen::Dynamic, 1> &grad_f, callbacks::logger &logger) {
  thread_local std::stringstream ss;
  ss.str(std::string());
  ss.clear();
  try {
    stan::math::gradient(model_functional<model_base>(model, &ss), x, f, grad_f);
  } catch (std::exception &e) {
    if (ss.tellp() > 0) logger.info(ss);
    throw;
  }
  if (ss.tellp() > 0) logger.info(ss);
}
}  // namespace model
}  // namespace stan

#include <stan/services/sample/hmc_nuts_diag_e_adapt.hpp>

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

namespace py = pybind11;

// defined in the model's translation unit (the C++ that stanc generates)
stan::model::model_base &new_model(stan::io::var_context &data_context, unsigned int seed, std::ostream *msg_stream);

namespace {

// Keeps the sample writer's header and every draw; ignores its strings
// (the adaptation summary). The init and diagnostic writers are Stan's no-op
// base writer.
class memory_writer : public stan::callbacks::writer {
 public:
  std::vector<std::string> names;
  std::vector<double> values;
  void operator()(const std::vector<std::string> &header) override {
    if (names.empty()) names = header;
  }
  void operator()(const std::vector<double> &state) override {
    values.insert(values.end(), state.begin(), state.end());
  }
};

// Keeps Stan's messages, each prefixed by its level as httpstan's logger does
// ("info:", "warn:", "error:", "fatal:"); debug messages are dropped.
class list_logger : public stan::callbacks::logger {
 public:
  std::vector<std::string> messages;
  void info(const std::string &m) override { messages.push_back("info:" + m); }
  void info(const std::stringstream &m) override { messages.push_back("info:" + m.str()); }
  void warn(const std::string &m) override { messages.push_back("warn:" + m); }
  void warn(const std::stringstream &m) override { messages.push_back("warn:" + m.str()); }
  void error(const std::string &m) override { messages.push_back("error:" + m); }
  void error(const std::stringstream &m) override { messages.push_back("error:" + m.str()); }
  void fatal(const std::string &m) override { messages.push_back("fatal:" + m); }
  void fatal(const std::stringstream &m) override { messages.push_back("fatal:" + m.str()); }
};

}  // namespace

// Runs `chains` chains one after another (chain ids 1..chains, as PyStan
// numbers them) and returns (return codes, column names, draws of shape
// (chains run, kept draws, columns), logger messages). Stops after the first
// chain whose return code is not 0. The data come as httpstan.utils._split_data
// returns them.
py::tuple nuts(const std::vector<std::string> &names_r, const std::vector<double> &values_r,
               const std::vector<std::vector<size_t>> &dim_r, const std::vector<std::string> &names_i,
               const std::vector<int> &values_i, const std::vector<std::vector<size_t>> &dim_i, int random_seed,
               int chains, double init_radius, int num_warmup, int num_samples, int num_thin, double stepsize,
               double stepsize_jitter, int max_depth, double delta, double gamma, double kappa, double t0,
               int init_buffer, int term_buffer, int window) {
  stan::io::array_var_context data(names_r, values_r, dim_r, names_i, values_i, dim_i);
  // a model that rejects its data throws here, with the GIL held: a Python exception
  std::unique_ptr<stan::model::model_base> model(&new_model(data, (unsigned int)random_seed, &std::cout));
  std::vector<int> codes;
  std::vector<std::string> names;
  std::vector<double> draws;
  list_logger logger;
  std::exception_ptr failure;
  {
    py::gil_scoped_release release;
    try {
      for (int chain = 1; chain <= chains; ++chain) {
        stan::io::empty_var_context init;
        stan::callbacks::interrupt interrupt;
        stan::callbacks::writer init_writer;
        stan::callbacks::writer diagnostic_writer;
        memory_writer sample_writer;
        int code = stan::services::sample::hmc_nuts_diag_e_adapt(
            *model, init, (unsigned int)random_seed, (unsigned int)chain, init_radius, num_warmup, num_samples,
            num_thin, false, num_warmup + num_samples + 1, stepsize, stepsize_jitter, max_depth, delta, gamma,
            kappa, t0, init_buffer, term_buffer, window, interrupt, logger, init_writer, sample_writer,
            diagnostic_writer);
        codes.push_back(code);
        if (names.empty()) names = sample_writer.names;
        draws.insert(draws.end(), sample_writer.values.begin(), sample_writer.values.end());
        if (code != 0) break;
      }
    } catch (const std::exception &) {
      failure = std::current_exception();
    }
  }
  if (failure) std::rethrow_exception(failure);
  size_t columns = names.size();
  size_t per_chain = (codes.empty() || columns == 0) ? 0 : draws.size() / columns / codes.size();
  py::array_t<double> out({codes.size(), per_chain, columns});
  std::copy(draws.begin(), draws.begin() + codes.size() * per_chain * columns, out.mutable_data());
  return py::make_tuple(codes, names, out, logger.messages);
}

// The model's parameter names and dimensions (as httpstan's get_param_names and get_dims).
py::tuple parameter_dims(const std::vector<std::string> &names_r, const std::vector<double> &values_r,
                         const std::vector<std::vector<size_t>> &dim_r, const std::vector<std::string> &names_i,
                         const std::vector<int> &values_i, const std::vector<std::vector<size_t>> &dim_i) {
  stan::io::array_var_context data(names_r, values_r, dim_r, names_i, values_i, dim_i);
  std::unique_ptr<stan::model::model_base> model(&new_model(data, 1u, &std::cout));
  std::vector<std::string> names;
  std::vector<std::vector<size_t>> dims;
  model->get_param_names(names);
  model->get_dims(dims);
  return py::make_tuple(names, dims);
}

// The log density and its gradient at unconstrained parameters, as NUTS sees
// them (dropping constants, with the Jacobian), as httpstan's log_prob_grad: for
// tests that compare a program's C++ header (bhm.stan._lean) with Stan's
// automatic differentiation.
py::tuple log_prob_grad(const std::vector<std::string> &names_r, const std::vector<double> &values_r,
                        const std::vector<std::vector<size_t>> &dim_r, const std::vector<std::string> &names_i,
                        const std::vector<int> &values_i, const std::vector<std::vector<size_t>> &dim_i,
                        std::vector<double> unconstrained) {
  stan::io::array_var_context data(names_r, values_r, dim_r, names_i, values_i, dim_i);
  std::unique_ptr<stan::model::model_base> model(&new_model(data, 1u, &std::cout));
  std::vector<int> integers;
  std::vector<double> gradient;
  double lp = stan::model::log_prob_grad<true, true>(*model, unconstrained, integers, gradient, &std::cout);
  return py::make_tuple(lp, gradient);
}

PYBIND11_MODULE(bhm_lean_services, m) {
  m.doc() = "Stan's NUTS (hmc_nuts_diag_e_adapt) with the draws kept in memory; see lean_services.cpp";
  m.def("nuts", &nuts, "Run chains 1..chains of NUTS; returns (codes, names, draws, messages)");
  m.def("parameter_dims", &parameter_dims, "The model's parameter names and dimensions");
  m.def("log_prob_grad", &log_prob_grad, "The log density (Jacobian included) and its gradient");
}
