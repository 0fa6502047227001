#!/bin/bash
# Reproduction script for exp001_dpo_tiny-llama-1m_beta0.1_1124_0930
# Generated: 2024-11-24T09:30:00

# 1. Checkout correct commit
git checkout unknown

# 2. Install dependencies
pip install -r experiments/exp001_dpo_tiny-llama-1m_beta0.1_1124_0930/requirements.txt

# 3. Run training
python3 train.py experiments/exp001_dpo_tiny-llama-1m_beta0.1_1124_0930/config.yaml
