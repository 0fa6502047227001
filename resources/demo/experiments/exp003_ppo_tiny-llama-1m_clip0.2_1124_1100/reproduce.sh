#!/bin/bash
# Reproduction script for exp003_ppo_tiny-llama-1m_clip0.2_1124_1100
# Generated: 2024-11-24T11:00:00

# 1. Checkout correct commit
git checkout unknown

# 2. Install dependencies
pip install -r experiments/exp003_ppo_tiny-llama-1m_clip0.2_1124_1100/requirements.txt

# 3. Run training
python3 train.py experiments/exp003_ppo_tiny-llama-1m_clip0.2_1124_1100/config.yaml
