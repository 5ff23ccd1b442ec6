// The hierarchical model of Maokomatanda et al. (2020), centred
// parameterisation (chapters 4 and 5).
//
//   individual level: y_i = alpha + beta_{j[i]} * x_i + epsilon_i,  epsilon_i ~ N(0, sigma_y)
//   group level:      beta_j = gamma_0 + gamma_1 * u_j + eta_j,     eta_j ~ N(0, sigma_b)
//
// Centred: the sampler works on beta directly. This is the better choice when
// each group has plenty of data, so that the likelihood pins beta_j down and
// its posterior is not tied to sigma_b (Betancourt & Girolami 2015). With few
// observations per group the posterior of (beta, sigma_b) takes the shape of a
// funnel that NUTS cannot traverse: use varying_slope_nc.stan then.
//
// The prior on (gamma_0, gamma_1) is data, so that one compiled program serves
// every prior of the Monte Carlo study: normal(gamma_loc, gamma_scale), or an
// improper uniform prior when flat_prior = 1.
data {
  int<lower=1> N;                          // number of individuals
  int<lower=1> J;                          // number of groups
  array[N] int<lower=1, upper=J> group;    // group j[i] of individual i
  vector[N] x;                             // individual-level predictor
  vector[N] y;                             // outcome
  vector[J] u;                             // group-level predictor
  int<lower=0, upper=1> flat_prior;        // 1: uniform prior on gamma_0, gamma_1
  vector[2] gamma_loc;                     // prior means of gamma_0, gamma_1
  vector<lower=0>[2] gamma_scale;          // prior sds of gamma_0, gamma_1
}
parameters {
  real alpha;                              // common intercept
  real gamma_0;                            // intercept of the group-level regression
  real gamma_1;                            // slope of the group-level regression on u
  real<lower=0> sigma_b;                   // sd of the group slopes around the regression
  vector[J] beta;                          // group slopes
  real<lower=0> sigma_y;                   // sd of the individual-level noise
}
model {
  alpha ~ normal(0, 10);                   // weakly informative; the source leaves it flat
  if (!flat_prior) {
    gamma_0 ~ normal(gamma_loc[1], gamma_scale[1]);
    gamma_1 ~ normal(gamma_loc[2], gamma_scale[2]);
  }
  sigma_b ~ cauchy(0, 5);                  // half-Cauchy through the <lower=0> bound
  sigma_y ~ cauchy(0, 5);
  beta ~ normal(gamma_0 + gamma_1 * u, sigma_b);
  y ~ normal(alpha + beta[group] .* x, sigma_y);
}
generated quantities {
  vector[J] eta = beta - (gamma_0 + gamma_1 * u);                    // group effects
  array[N] real y_rep = normal_rng(alpha + beta[group] .* x, sigma_y);  // posterior predictive
  vector[N] log_lik;                                                 // pointwise log likelihood
  for (i in 1:N) {
    log_lik[i] = normal_lpdf(y[i] | alpha + beta[group[i]] * x[i], sigma_y);
  }
}
