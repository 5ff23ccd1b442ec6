// Varying intercepts, no predictors: the model of pooling (chapter 4).
//
//   y_i ~ N(alpha_{j[i]}, sigma_y),   alpha_j ~ N(mu_alpha, sigma_alpha)
//
// sigma_alpha -> 0 is complete pooling (one mean for all groups), sigma_alpha
// -> infinity is no pooling (each group on its own); the data choose in
// between. Non-centred (alpha built from standardised effects), because the
// chapter's small groups carry little information each (see varying_slope_nc.stan).
// Its groups are mixed, though: 2 to 100 members, shrinkage factors between
// about 0.3 and 0.95 in the chapter's fit, and the large groups would suit the
// centred form better. With such mixed information one can centre some groups
// and not others (Papaspiliopoulos, Roberts & Skold 2007, "A general framework
// for the parametrization of hierarchical models"). One form for all works
// here: the chapter's fit has no divergences and ample effective sample sizes.
// Priors are data, in the outcome's units: normal on mu_alpha, half-normal on
// both standard deviations.
data {
  int<lower=1> N;                          // number of individuals
  int<lower=1> J;                          // number of groups
  array[N] int<lower=1, upper=J> group;    // group j[i] of individual i
  vector[N] y;                             // outcome
  real mu_loc;                             // prior mean of mu_alpha
  real<lower=0> mu_scale;                  // prior sd of mu_alpha
  real<lower=0> sigma_scale;               // half-normal scale of sigma_alpha and sigma_y
}
parameters {
  real mu_alpha;                           // mean of the group intercepts
  real<lower=0> sigma_alpha;               // sd of the group intercepts
  real<lower=0> sigma_y;                   // sd within groups
  vector[J] alpha_std;                     // standardised group effects
}
transformed parameters {
  vector[J] alpha = mu_alpha + sigma_alpha * alpha_std;  // group intercepts
}
model {
  mu_alpha ~ normal(mu_loc, mu_scale);
  sigma_alpha ~ normal(0, sigma_scale);
  sigma_y ~ normal(0, sigma_scale);
  alpha_std ~ std_normal();                // implies alpha ~ normal(mu_alpha, sigma_alpha)
  y ~ normal(alpha[group], sigma_y);
}
