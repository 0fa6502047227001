#!/bin/bash
# Reproduction script for exp002_dpo_tiny-llama-1m_beta0.05_1124_1015
# Generated: 2024-11-24T10:15:00

# 1. Checkout correct commit
git checkout unknown

# 2. Install dependencies
pip install -r experiments/exp002_dpo_tiny-llama-1m_beta0.05_1124_1015/requirements.txt

# 3. Run training
python3 train.py experiments/exp002_dpo_tiny-llama-1m_beta0.05_1124_1015/config.yaml
