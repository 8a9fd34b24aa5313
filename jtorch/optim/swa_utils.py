"""Stochastic weight averaging: AveragedModel, SWALR, update_bn (torch.optim.swa_utils)."""
