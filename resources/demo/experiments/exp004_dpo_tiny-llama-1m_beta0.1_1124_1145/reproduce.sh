#!/bin/bash
# Reproduction script for exp004_dpo_tiny-llama-1m_beta0.1_1124_1145
# Generated: 2024-11-24T11:45:00

# 1. Checkout correct commit
git checkout unknown

# 2. Install dependencies
pip install -r experiments/exp004_dpo_tiny-llama-1m_beta0.1_1124_1145/requirements.txt

# 3. Run training
python3 train.py experiments/exp004_dpo_tiny-llama-1m_beta0.1_1124_1145/config.yaml
